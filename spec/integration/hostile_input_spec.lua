-- Hostile values in every send / new field: a clear validation (or config)
-- error and nothing sent; legal but awkward text reaches the gateway
-- exactly (checked by decoding what the simulator received).
local b2c = require("b2c")
local sim = require("support.sim")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("hostile input", function()
  local s, credential

  local function config(over)
    local cfg = {
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
      resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/timeout",
    }
    for k, v in pairs(over or {}) do cfg[k] = v end
    return cfg
  end

  local function payout(over)
    local p = { recipientPhone = "0708374149", amount = 500, remarks = "Partner settlement" }
    for k, v in pairs(over or {}) do p[k] = v end
    return p
  end

  setup(function()
    s = sim.start({ callbackDelay = 0.05 })
    credential = assert(b2c.securityCredential(s.initiatorPassword, s.certificate))
  end)
  teardown(function() if s then s:stop() end end)
  before_each(function() s:reset() end)

  local LONG = string.rep("x", 5000)
  local INJECT = { '"', '","Amount":1,"x":"', "a\nb", "a\0b", "a\r\nX-Injected: 1", "\\", "\255\254",
    "a\27[31m", "\0" }
  local WRONG = { {}, true, print, 0 / 0, math.huge }

  local function bad_values(field)
    local list = { "", LONG }
    for _, v in ipairs(INJECT) do list[#list + 1] = v end
    for _, v in ipairs(WRONG) do list[#list + 1] = v end
    if field == "amount" then
      for _, v in ipairs({ -1, -500, 0, 9, 10.5, 500.0001, 1e300, -0.0, 250001, 2 ^ 53, "1e3",
        " 500", "500 ", "0x1F4", "500.5", "-500", "+500", "five hundred", "500\0" }) do
        list[#list + 1] = v
      end
    elseif field == "recipientPhone" then
      for _, v in ipairs({ "0708", "07083741490", "+1 202 555 0100", 708374149.5, -708374149,
        "0708374149\n", "254708374149;drop" }) do
        list[#list + 1] = v
      end
    elseif field == "originatorConversationId" then
      list[#list + 1] = string.rep("a", 129)
      list[#list + 1] = "a b"
      list[#list + 1] = "a/../b"
    elseif field == "resultUrl" or field == "queueTimeOutUrl" then
      for _, v in ipairs({ "javascript:alert(1)", "ftp://x/y", "//x/y", "http://", "https://x/\"y",
        "https://x/<y>", "https://x/y z", "https://@x" }) do
        list[#list + 1] = v
      end
    end
    return list
  end

  it("refuses every hostile send field with a validation error and sends nothing", function()
    local mpesa = assert(b2c.new(config()))
    local checked = 0
    for _, field in ipairs({ "recipientPhone", "amount", "remarks", "occasion", "commandId",
      "resultUrl", "queueTimeOutUrl", "originatorConversationId" }) do
      for _, v in ipairs(bad_values(field)) do
        local legal_text = (field == "remarks" or field == "occasion") and type(v) == "string"
          and not v:find("[%z\1-\31\127]") and #v <= 100 and #v >= (field == "remarks" and 2 or 1)
          and not v:find("[\128-\255]")
        if not legal_text then
          local ack, err = mpesa.b2c.send(payout({ [field] = v }))
          assert.is_nil(ack, field .. " = " .. tostring(v))
          assert.are.equal("validation", err.kind, field .. " = " .. tostring(v))
          assert.are.equal(field, err.field, field .. " = " .. tostring(v))
          assert.truthy(err.message:find("^" .. field .. ": "), err.message)
          checked = checked + 1
        end
      end
    end
    local ack, err = mpesa.b2c.send(payout({ extra = "x" }))
    assert.is_nil(ack)
    assert.are.equal("validation", err.kind)
    assert.are.equal("extra", err.field)
    local st = s:stats()
    assert.are.equal(0, st.tokensIssued)
    assert.is_nil(st.requests[PAYMENT])
    assert.is_true(checked > 150, checked)
    mpesa:close()
  end)

  it("refuses every hostile b2c.new setting with a config error", function()
    local checked = 0
    for _, field in ipairs({ "consumerKey", "consumerSecret", "shortCode", "initiatorName",
      "securityCredential", "baseUrl", "resultUrl", "queueTimeOutUrl", "environment", "caFile",
      "certificate" }) do
      for _, v in ipairs(bad_values(field)) do
        local cfg = config({ [field] = v })
        if field == "certificate" then -- read only with initiatorPassword
          cfg.securityCredential, cfg.initiatorPassword = nil, s.initiatorPassword
        end
        local ok_string = type(v) == "string" and v ~= "" and not v:find("[%z\1-\31\127]")
        -- Free-form secrets may hold any printable bytes; everything else is checked.
        if not ((field == "consumerKey" or field == "consumerSecret") and ok_string)
          and not (field == "initiatorName" and ok_string and #v <= 64) then
          local mpesa, err = b2c.new(cfg)
          assert.is_nil(mpesa, field .. " = " .. tostring(v))
          assert.are.equal("config", err.kind, field .. " = " .. tostring(v))
          checked = checked + 1
        end
      end
    end
    for _, field in ipairs({ "timeout", "connectTimeout", "minAmount", "maxAmount", "maxResponseBytes" }) do
      for _, v in ipairs({ -1, 0, 0 / 0, math.huge, "5", {}, true, 1e12 }) do
        local mpesa, err = b2c.new(config({ [field] = v }))
        assert.is_nil(mpesa, field .. " = " .. tostring(v))
        assert.are.equal("config", err.kind)
        assert.are.equal(field, err.field)
        checked = checked + 1
      end
    end
    assert.is_true(checked > 150, checked)
    assert.are.equal(0, s:stats().tokensIssued)
  end)

  it("sends awkward but legal text exactly, correctly escaped", function()
    local mpesa = assert(b2c.new(config({ initiatorName = 'test"api\\' })))
    local texts = {
      'quote " backslash \\ slash / end',
      '","Amount":1,"PartyB":"254700000000',
      "</script><script>alert(1)</script>",
      "caf\195\169 \226\130\172 \240\159\146\176 \226\128\168 line sep",
      "{}[]:,'` $ % & # ~",
      string.rep("\226\130\172", 100),
    }
    for _, t in ipairs(texts) do
      local ack = assert(mpesa.b2c.send(payout({ remarks = t, occasion = t })))
      local got = s:stats().lastPaymentRequest
      assert.are.equal(t, got.Remarks)
      assert.are.equal(t, got.Occasion)
      assert.are.equal('test"api\\', got.InitiatorName)
      assert.are.equal(500, got.Amount)
      assert.are.equal("254708374149", got.PartyB)
      assert.are.equal(ack.OriginatorConversationID, got.OriginatorConversationID)
    end
    assert.are.equal(#texts, s:stats().requests[PAYMENT])
    mpesa:close()
  end)
end)
