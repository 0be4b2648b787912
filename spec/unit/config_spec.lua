local b2c = require("b2c")
local socket = require("socket")

local SECRET, PASSWORD = "consumer-secret-XYZ", "initiator-pass-XYZ"
local NONE = {} -- in an override: remove the field

local function apply(t, over)
  for k, v in pairs(over or {}) do
    if v == NONE then t[k] = nil else t[k] = v end
  end
  return t
end

local function settings(over)
  local t = {
    consumerKey = "key", consumerSecret = SECRET, shortCode = "600996", initiatorName = "testapi",
    initiatorPassword = PASSWORD, baseUrl = "http://127.0.0.1:9",
    resultUrl = "https://example.com/result", queueTimeOutUrl = "https://example.com/timeout",
  }
  return apply(t, over)
end

describe("b2c.new", function()
  it("builds a client whose tostring shows no secret", function()
    local mpesa = assert(b2c.new(settings()))
    local s = tostring(mpesa) .. tostring(mpesa.core)
    assert.matches("600996", s)
    assert.is_nil(s:find(SECRET, 1, true))
    assert.is_nil(s:find(PASSWORD, 1, true))
    for _, v in pairs(mpesa) do
      assert.are_not.equal(SECRET, v)
      assert.are_not.equal(PASSWORD, v)
    end
    mpesa:close()
    mpesa:close() -- idempotent
    assert.matches("closed", tostring(mpesa.core))
  end)

  it("raises on misuse", function()
    assert.has_error(function() b2c.new() end)
    assert.has_error(function() b2c.new("key") end)
  end)

  local cases = {
    { { consumerKey = "" }, "consumerKey", "is required" },
    { { consumerSecret = 5 }, "consumerSecret", "is required" },
    { { environment = "staging" }, "environment", "sandbox" },
    { { shortCode = "60A996" }, "shortCode", "digits" },
    { { initiatorName = false }, "initiatorName", "is required" },
    { { initiatorName = "bad\nname" }, "initiatorName", "control" },
    { { initiatorPassword = false }, "initiatorPassword", "non-empty" },
    { { securityCredential = "abc" }, "securityCredential", "exactly one" },
    { { initiatorPassword = NONE, securityCredential = "not base64 !!!!!!!!" }, "securityCredential", "base64" },
    { { certificate = "<html>oops</html>" }, "certificate", "not a PEM or DER" },
    { { certificate = "/nope.cer" }, "certificate", "cannot read" },
    { { resultUrl = "/relative" }, "resultUrl", "absolute" },
    { { environment = "production", resultUrl = "http://example.com/r" }, "resultUrl", "https in production" },
    { { baseUrl = "http://example.com" }, "baseUrl", "loopback" },
    { { baseUrl = "https://example.com/path" }, "baseUrl", "no path" },
    { { baseUrl = "ftp://127.0.0.1" }, "baseUrl", "scheme" },
    { { timeout = 0 }, "timeout", "seconds" },
    { { connectTimeout = "5" }, "connectTimeout", "seconds" },
    { { caFile = "/no/such/ca.pem" }, "caFile", "readable" },
    { { minAmount = 0 }, "minAmount", "whole number" },
    { { minAmount = 100, maxAmount = 50 }, "maxAmount", "whole number" },
    { { consumerKeys = "typo" }, "consumerKeys", "not a b2c.new field" },
  }
  for _, case in ipairs(cases) do
    it("rejects a bad " .. case[2] .. " (" .. case[3] .. ")", function()
      local client, err = b2c.new(settings(case[1]))
      assert.is_nil(client)
      assert.are.equal("config", err.kind)
      assert.are.equal(case[2], err.field)
      assert.truthy(err.message:find(case[3], 1, true), err.message)
      assert.is_nil(err.message:find(SECRET, 1, true))
      assert.is_nil(err.message:find(PASSWORD, 1, true))
    end)
  end

  it("accepts an already encrypted credential", function()
    local credential = assert(b2c.securityCredential("pw"))
    local mpesa = assert(b2c.new(settings({ initiatorPassword = NONE, securityCredential = credential })))
    mpesa:close()
  end)
end)

describe("mpesa.b2c.send validation", function()
  local server, mpesa
  setup(function()
    server = assert(socket.bind("127.0.0.1", 0))
    server:settimeout(0)
    local _, port = server:getsockname()
    mpesa = assert(b2c.new(settings({ baseUrl = "http://127.0.0.1:" .. port })))
  end)
  teardown(function()
    mpesa:close()
    server:close()
  end)

  local function payout(over)
    local t = { recipientPhone = "0712345678", amount = 500, remarks = "Partner settlement",
      occasion = "March payout" }
    return apply(t, over)
  end

  local cases = {
    { { recipientPhone = "0812345678" }, "recipientPhone", "Safaricom mobile number" },
    { { recipientPhone = NONE }, "recipientPhone", "Safaricom mobile number" },
    { { amount = 500.5 }, "amount", "whole number" },
    { { amount = "1,000" }, "amount", "whole number" },
    { { amount = 5 }, "amount", "between 10 and 250000" },
    { { amount = 250001 }, "amount", "between 10 and 250000" },
    { { amount = -100 }, "amount", "between" },
    { { remarks = false }, "remarks", "must be a string" },
    { { remarks = "x" }, "remarks", "2 to 100" },
    { { remarks = string.rep("r", 101) }, "remarks", "2 to 100" },
    { { remarks = "ok\r\nInjected: 1" }, "remarks", "control" },
    { { occasion = "" }, "occasion", "1 to 100" },
    { { occasion = string.rep("o", 101) }, "occasion", "1 to 100" },
    { { commandId = "BuyGoods" }, "commandId", "BusinessPayment" },
    { { resultUrl = "not a url" }, "resultUrl", "absolute" },
    { { queueTimeOutUrl = "ftp://x" }, "queueTimeOutUrl", "absolute" },
    { { originatorConversationId = 'x"y' }, "originatorConversationId", "1-128" },
    { { Amount = 500 }, "Amount", "not a mpesa.b2c.send field" },
    { { reference = {} }, "reference", "string or a number" },
    { { reference = "" }, "reference", "1 to 128" },
    { { reference = string.rep("r", 129) }, "reference", "1 to 128" },
    { { reference = "row\n7" }, "reference", "control" },
    { { reference = 0 / 0 }, "reference", "finite" },
  }
  for _, case in ipairs(cases) do
    it("rejects a bad " .. case[2] .. " (" .. case[3] .. ") before any connection", function()
      local p = payout(case[1])
      if case[1].remarks == false then p.remarks = 42 end
      local ack, err = mpesa.b2c.send(p)
      assert.is_nil(ack)
      assert.are.equal("validation", err.kind)
      assert.are.equal(case[2], err.field)
      assert.truthy(err.message:find(case[3], 1, true), err.message)
      assert.are.equal(err.message, tostring(err))
      assert.is_nil(server:accept()) -- nothing connected
    end)
  end

  it("asks for the callback URLs when the client has no defaults", function()
    local bare = assert(b2c.new(settings({ baseUrl = mpesa.baseUrl, resultUrl = NONE,
      queueTimeOutUrl = NONE })))
    local _, err = bare.b2c.send(payout())
    assert.are.equal("resultUrl", err.field)
    assert.is_nil(server:accept())
    bare:close()
  end)

  it("raises on misuse", function()
    assert.has_error(function() mpesa.b2c.send("0712345678") end)
    assert.has_error(function() mpesa.b2c.send() end)
  end)

  it("accepts mpesa.b2c:send as well", function()
    local _, err = mpesa.b2c:send(payout({ recipientPhone = "not a phone" }))
    assert.are.equal("recipientPhone", err.field)
  end)

  it("refuses an http:// resultUrl given to send in production, before any connection", function()
    local _, port = server:getsockname()
    local prod = assert(b2c.new(settings({ environment = "production",
      baseUrl = "https://127.0.0.1:" .. port })))
    for _, field in ipairs({ "resultUrl", "queueTimeOutUrl" }) do
      local _, err = prod.b2c.send(payout({ [field] = "http://example.com/cb" }))
      assert.are.equal("validation", err.kind)
      assert.are.equal(field, err.field)
      assert.matches("https in production", err.message)
    end
    assert.is_nil(server:accept())
    prod:close()
  end)

  it("lets an error object be concatenated on either side, as its message", function()
    local _, err = mpesa.b2c.send(payout({ amount = 5 }))
    assert.are.equal("payout failed: " .. err.message, "payout failed: " .. err)
    assert.are.equal(err.message .. " (row 7)", err .. " (row 7)")
    assert.are.equal(err.message .. err.message, err .. err)
    assert.are.equal("1: " .. err.message, 1 .. ": " .. err)
  end)
end)
