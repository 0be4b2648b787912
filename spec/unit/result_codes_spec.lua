-- b2c.resultCodes and b2c.describe: every code Daraja is known to send is
-- classified; anything else is "unknown", never an error.
local b2c = require("b2c")
local errors = require("b2c.errors")

local CLASSES = {
  success = true, insufficient_funds = true, recipient = true, configuration = true, limit = true,
  transient = true, unknown = true,
}

-- Every ResultCode and gateway errorCode in the Daraja notes this project was
-- built from, with the class each must have.
local KNOWN = {
  [0] = "success", [1] = "insufficient_funds", [2] = "limit", [3] = "limit", [4] = "limit",
  [8] = "limit", [11] = "configuration", [15] = "transient", [17] = "transient",
  [18] = "configuration", [20] = "configuration", [21] = "configuration", [22] = "configuration",
  [26] = "transient", [2001] = "configuration", [2006] = "recipient", [2028] = "configuration",
  [2032] = "transient", [2033] = "transient", [2040] = "recipient", [8006] = "configuration",
  SFC_IC0003 = "recipient", R000001 = "recipient", R000002 = "configuration",
  ["400.002.02"] = "configuration", ["400.002.05"] = "configuration", ["401.002.01"] = "transient",
  ["404.001.03"] = "transient", ["400.003.01"] = "transient", ["404.001.04"] = "configuration",
  ["403.002.1001"] = "configuration", ["500.001.1001"] = "transient", ["500.002.1001"] = "transient",
  ["500.003.02"] = "transient", ["500.003.03"] = "limit", ["500.003.1001"] = "transient",
  ["400.008.01"] = "configuration", ["400.008.02"] = "configuration",
}

describe("b2c.resultCodes", function()
  it("classifies every code of the Daraja notes", function()
    local n = 0
    for code, class in pairs(KNOWN) do
      local e = b2c.resultCodes[code]
      assert.is_truthy(e, "missing " .. tostring(code))
      assert.are.equal(class, e.class, tostring(code))
      assert.are.equal(code, e.code)
      n = n + 1
    end
    assert.are.equal(38, n)
  end)

  it("gives every entry a text, a known class and a one-line advice", function()
    for code, e in pairs(b2c.resultCodes) do
      assert.are.equal(code, e.code)
      assert.is_true(CLASSES[e.class] and e.class ~= "unknown", tostring(code))
      assert.is_true(type(e.text) == "string" and #e.text > 5, tostring(code))
      assert.is_true(type(e.advice) == "string" and #e.advice > 10 and not e.advice:find("\n"),
        tostring(code))
      assert.is_truthy(KNOWN[code], "not in the notes: " .. tostring(code))
    end
  end)
end)

describe("b2c.describe", function()
  it("describes codes given as numbers or strings alike", function()
    assert.are.same({ b2c.describe(2001) }, { b2c.describe("2001") })
    assert.are.equal("configuration", (b2c.describe(2001.0)))
    assert.are.equal("insufficient_funds", (b2c.describe(1)))
    assert.are.equal("recipient", (b2c.describe("SFC_IC0003")))
    local class, advice = b2c.describe(0)
    assert.are.equal("success", class)
    assert.matches("receipt", advice)
  end)

  it("calls every code it does not know unknown, and never raises", function()
    for _, x in ipairs({ 99999, "X123", "500.999.1", -1, 1.5, 0 / 0, math.huge, "", true,
      function() end, {}, { Result = {} }, { ResultCode = {} }, { kind = 7 } }) do
      local ok, class, advice = pcall(b2c.describe, x)
      assert.is_true(ok, tostring(x))
      assert.are.equal("unknown", class, tostring(x))
      assert.are.equal("string", type(advice))
    end
    assert.are.equal("unknown", (b2c.describe(nil)))
    assert.matches("99999", select(2, b2c.describe(99999)))
  end)

  it("describes parsed results and decoded callbacks", function()
    local r = assert(b2c.parseDarajaResult(
      '{"Result":{"ResultCode":2040,"ResultDesc":"x","ConversationID":"c"}}'))
    assert.are.equal("recipient", (b2c.describe(r)))
    assert.are.equal("recipient", (b2c.describe(r.raw)))
    assert.are.equal("limit", (b2c.describe({ errorCode = "500.003.03" })))
  end)

  it("describes the SDK's error objects", function()
    local function kind(k, fields) return errors.new(k, "m", fields) end
    assert.are.same({ "transient" }, { (b2c.describe(kind("timeout", { originatorConversationId = "o-1" }))) })
    assert.matches("o%-1", select(2, b2c.describe(kind("timeout", { originatorConversationId = "o-1" }))))
    assert.are.equal("transient", (b2c.describe(kind("network"))))
    assert.are.equal("transient", (b2c.describe(kind("thread"))))
    assert.are.equal("configuration", (b2c.describe(kind("config", { field = "shortCode" }))))
    assert.are.equal("configuration", (b2c.describe(kind("auth"))))
    assert.are.equal("recipient", (b2c.describe(errors.validation("recipientPhone", "bad"))))
    assert.are.equal("limit", (b2c.describe(errors.validation("amount", "too much"))))
    assert.are.equal("configuration", (b2c.describe(errors.validation("remarks", "short"))))
    assert.are.equal("transient", (b2c.describe(kind("http", { status = 502 }))))
    assert.are.equal("configuration", (b2c.describe(kind("http", { status = 403 }))))
    assert.are.equal("unknown", (b2c.describe(kind("callback"))))
    assert.are.equal("transient", (b2c.describe(kind("api", { code = "500.003.02" }))))
    assert.are.equal("unknown", (b2c.describe(kind("api", { code = "999.1.1" }))))
    -- a plain copy (b2c.ngx) works the same
    assert.are.equal("transient", (b2c.describe({ kind = "api", code = "500.002.1001", message = "dup" })))
  end)

  it("reads the message where one code covers several causes", function()
    local no_product = errors.new("api", "Error Occurred - Invalid API call as no apiproduct match found",
      { code = "401.002.01" })
    assert.are.equal("configuration", (b2c.describe(no_product)))
    local token = errors.new("api", "Invalid Access Token", { code = "401.002.01" })
    assert.are.equal("transient", (b2c.describe(token)))
    local party = errors.new("api", "Bad Request - Invalid PartyB (Daraja 400.002.02, HTTP 400)",
      { code = "400.002.02" })
    assert.are.equal("recipient", (b2c.describe(party)))
  end)

  it("reads a synchronous ResponseCode apart from a callback ResultCode", function()
    -- ResponseCode "1" on a synchronous answer is a refusal, not "insufficient funds"
    local gateway = require("b2c.engine.answer")
    local _, err = gateway.interpret(200, '{"ResponseCode":"1","ResponseDescription":"Rejected"}',
      { ocid = "o-1", payout = true })
    local class, advice = b2c.describe(err)
    assert.are_not.equal("insufficient_funds", class)
    assert.are.equal("configuration", class)
    assert.matches("ResponseCode 1", advice)
    assert.are.equal("configuration", (b2c.describe({ kind = "api", code = "1", message = "m" })))
    assert.are.equal("configuration", (b2c.describe({ ResponseCode = "1", ResponseDescription = "x" })))
    assert.are_not.equal("success", (b2c.describe({ ResponseCode = "0" })))
    -- a callback ResultCode 1 is still insufficient funds
    assert.are.equal("insufficient_funds", (b2c.describe({ Result = { ResultCode = 1 } })))
  end)

  it("calls every outcome that may have moved money transient, with reconcile advice", function()
    local gateway = require("b2c.engine.answer")
    local ctx = { ocid = "o-7", payout = true }
    local cut = gateway.transport_error({ outcome = "too_large", message = "response larger than "
      .. "1024 bytes", status = 200 }, ctx)
    local _, not_json = gateway.interpret(200, "<html>ok</html>", ctx)
    local _, other = gateway.interpret(200, '{"ResponseCode":"0","OriginatorConversationID":"x"}', ctx)
    local _, bare = gateway.interpret(502, "", ctx)
    local _, dup = gateway.interpret(500, '{"errorCode":"500.002.1001","errorMessage":"Duplicate"}', ctx)
    for name, err in pairs({ cut = cut, not_json = not_json, other = other, bare = bare, dup = dup }) do
      assert.are.equal("ambiguous", err.outcome, name)
      local class, advice = b2c.describe(err)
      assert.are.equal("transient", class, name)
      assert.matches("reconcile", advice, 1, true)
      assert.is_nil(advice:find("stop the batch", 1, true), name)
      -- a plain copy without the outcome field is read the same way
      local copy = {}
      for k, v in pairs(err) do copy[k] = v end
      copy.outcome = nil
      assert.are.equal("transient", (b2c.describe(copy)), name)
    end
    -- a plain http 200 error (a copy from before outcomes existed) is not "configuration"
    assert.are.equal("transient", (b2c.describe({ kind = "http", status = 200, message = "m" })))
  end)
end)
