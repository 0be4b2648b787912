-- The binding reports which setting failed as a value (core.client and
-- core.encrypt_credential return nil, rule, field), never inside the
-- message for Lua to parse; settings that break a b2c.config rule are
-- misuse of the binding and raise.
local core = require("b2c.core")
local certs = require("b2c.certs")

local CREDENTIAL = string.rep("QmVuY2hDcmVkZW50aWFs", 18):sub(1, 342) .. "=="

local function settings(t)
  local s = { baseUrl = "https://127.0.0.1:1", consumerKey = "k", consumerSecret = "s",
    securityCredential = CREDENTIAL, userAgent = "spec" }
  for k, v in pairs(t) do s[k] = v end
  return s
end

describe("core.client", function()
  it("names a bad baseUrl as the field, the rule apart", function()
    local c, rule, field = core.client(settings({ baseUrl = "https://exa mple.com" }))
    assert.is_nil(c)
    assert.are.equal("baseUrl", field)
    assert.is_nil(rule:find("^baseUrl"), rule)
    assert.matches("https://host", rule)
  end)

  it("names a bad proxy as the field, the rule apart", function()
    local c, rule, field = core.client(settings({ baseUrl = "https://example.com",
      proxy = "socks5://p:1" }))
    assert.is_nil(c)
    assert.are.equal("proxy", field)
    assert.is_nil(rule:find("^proxy"), rule)
  end)

  it("names a password too long for the certificate's key initiatorPassword", function()
    local s = settings({ initiatorPassword = string.rep("p", 300), certificate = certs.sandbox })
    s.securityCredential = nil
    local c, rule, field = core.client(s)
    assert.is_nil(c)
    assert.are.equal("initiatorPassword", field)
    assert.matches("^must be 1 to", rule)
    local b64
    b64, rule, field = core.encrypt_credential("pw", "not a certificate")
    assert.is_nil(b64)
    assert.are.equal("certificate", field)
    assert.matches("^not a PEM", rule)
  end)

  it("raises on settings b2c.config refuses (misuse of the binding)", function()
    assert.has_error(function() core.client(settings({ maxResponseBytes = 1 })) end)
    assert.has_error(function() core.client(settings({ consumerKey = "a\0b" })) end)
    assert.has_error(function() core.client(settings({ initiatorPassword = "pw" })) end)
  end)
end)
