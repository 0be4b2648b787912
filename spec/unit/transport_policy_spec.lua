-- TLS and plain-http policy, decided before any connection is made.
local b2c = require("b2c")

local function settings(over)
  local t = {
    consumerKey = "key", consumerSecret = "secret", shortCode = "600996", initiatorName = "testapi",
    securityCredential = string.rep("QUJD", 8), baseUrl = "http://127.0.0.1:9",
    resultUrl = "https://example.com/result", queueTimeOutUrl = "https://example.com/timeout",
  }
  for k, v in pairs(over or {}) do t[k] = v end
  return t
end

describe("plain http", function()
  it("is allowed for loopback hosts", function()
    for _, url in ipairs({ "http://127.0.0.1:9", "http://127.1.2.3", "http://localhost",
      "http://localhost:8080", "http://[::1]:8080", "http://127.0.0.1:9/" }) do
      local mpesa, err = b2c.new(settings({ baseUrl = url }))
      assert.is_not_nil(mpesa, url .. ": " .. tostring(err))
      mpesa:close()
    end
  end)

  it("is refused for any other host, however it starts", function()
    for _, url in ipairs({ "http://127.0.0.1.example.com", "http://127.evil.example",
      "http://localhost.example.com", "http://localhost:80@example.com",
      "http://127.0.0.1:9@example.com", "http://[::1]@example.com", "http://[::1].example.com",
      "http://127.0.0.1:123456", "http://127..0.1", "http://127.0.0.1234", "http://example.com",
      "http://10.0.0.1", "http://0.0.0.0", "http://localhostx:1" }) do
      local mpesa, err = b2c.new(settings({ baseUrl = url }))
      assert.is_nil(mpesa, url)
      assert.are.equal("config", err.kind, url)
      assert.are.equal("baseUrl", err.field, url)
    end
  end)
end)

describe("baseUrl", function()
  it("is refused at b2c.new unless it is scheme://host[:port] and nothing else", function()
    for _, url in ipairs({ "https://api.example.com\r\nX-Injected: yes", "https://api.example.com ",
      " https://api.example.com", "https://api.example.com:443:80", "https://api.example.com:99999",
      "https://api.example.com:0", "https://api.example.com:", "https://api .example.com",
      "https://api.example.com\t", "https://api..example.com", "https://.example.com",
      "https://api.example.com:0443443", "https://[::1", "https://a_b.example.com",
      "https://api.example.com:+443", "https://api.example.com\0" }) do
      local mpesa, err = b2c.new(settings({ baseUrl = url }))
      assert.is_nil(mpesa, url)
      assert.are.equal("config", err.kind, url)
      assert.are.equal("baseUrl", err.field, url)
    end
    local _, err = b2c.new(settings({ baseUrl = "https://api.example.com:99999" }))
    assert.matches("port must be a number 1%-65535", err.message)
    _, err = b2c.new(settings({ baseUrl = "https://api.example.com\r\nX: y" }))
    assert.matches("control characters", err.message)
  end)

  it("is taken with a port of 1-65535, an IPv6 literal or a final slash", function()
    for _, url in ipairs({ "https://api.example.com:1", "https://api.example.com:65535",
      "https://[2001:db8::1]:8443", "https://api.example.com/", "https://sandbox.safaricom.co.ke" }) do
      local mpesa, err = b2c.new(settings({ baseUrl = url }))
      assert.is_not_nil(mpesa, url .. ": " .. tostring(err))
      mpesa:close()
    end
  end)
end)

describe("TLS verification", function()
  it("has no setting that turns it off: near-miss names are refused", function()
    for _, name in ipairs({ "sslVerify", "verify", "insecure", "verifyPeer", "sslVerifyPeer",
      "tlsVerify", "skipVerify", "caFiles", "cafile", "CAFile" }) do
      local mpesa, err = b2c.new(settings({ [name] = false }))
      assert.is_nil(mpesa, name)
      assert.are.equal("config", err.kind, name)
      assert.are.equal(name, err.field, name)
    end
  end)
end)
