local b2c = require("b2c")

local function fixture(name)
  local f = assert(io.open("spec/fixtures/daraja/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("b2c.parseDarajaResult on Daraja's samples", function()
  it("reads the B2C success callback", function()
    local r = assert(b2c.parseDarajaResult(fixture("b2c_result_success_docs_v3.json")))
    assert.is_true(r.ok)
    assert.are.equal(0, r.ResultCode)
    assert.are.equal("53e3-4aa8-9fe0-8fb5e4092cdd3533373", r.OriginatorConversationID)
    assert.are.equal("AG_20240706_2010364430d9bbdaf872", r.ConversationID)
    assert.are.equal("SG632NMUAB", r.TransactionID)
    assert.are.equal(8, #r.parameters)
    local p = b2c.getResultParametersMap(r)
    assert.are.equal(10, p.TransactionAmount)
    if math.type then assert.are.equal("integer", math.type(p.TransactionAmount)) end -- luacheck: ignore 143 (5.3+)
    assert.are.equal("SG632NMUAB", p.TransactionReceipt)
    assert.are.equal("254705912645 - NICHOLAS JOHN SONGOK", p.ReceiverPartyPublicName)
    assert.are.equal("06.07.2024 22:48:52", p.TransactionCompletedDateTime)
    assert.are.equal(8959269.60, p.B2CUtilityAccountAvailableFunds)
    assert.are.equal(1199371, p.B2CWorkingAccountAvailableFunds)
    assert.are.equal(-1980, p.B2CChargesPaidAccountAvailableFunds)
    assert.are.equal("Y", p.B2CRecipientIsRegisteredCustomer)
    assert.are.equal(1, #r.referenceData)
    assert.are.equal("QueueTimeoutURL", r.referenceData[1].Key)
  end)

  it("reads the 2001 failure callback, which has no parameters", function()
    local r = assert(b2c.parseDarajaResult(fixture("b2c_result_failure_2001_docs_v3.json")))
    assert.is_false(r.ok)
    assert.are.equal(2001, r.ResultCode)
    assert.are.equal("The initiator information is invalid.", r.ResultDesc)
    assert.are.same({}, r.parameters)
    assert.are.same({}, b2c.getResultParametersMap(r))
  end)

  it("reads Transaction Status and Account Balance results (string codes, items without Value)", function()
    local ts = assert(b2c.parseDarajaResult(fixture("transactionstatus_result_success_docs_v3.json")))
    assert.is_true(ts.ok)
    local p = b2c.getResultParametersMap(ts)
    assert.are.equal("Completed", p.TransactionStatus)
    assert.are.equal("300", p.Amount)
    assert.are.equal("600310 - Safaricom333", p.DebitPartyName) -- first of the repeated key
    assert.is_nil(p.TransactionReason)                             -- item without Value
    assert.are.equal(13, #ts.parameters)
    assert.are.equal("Occasion", ts.referenceData[1].Key)
    assert.is_nil(ts.referenceData[1].Value)
    local ab = assert(b2c.parseDarajaResult(fixture("accountbalance_result_success_docs_v3.json")))
    assert.is_true(ab.ok)
    assert.are.equal("0", ab.ResultCode) -- kept as sent
    assert.matches("^Working Account|KES|700000.00", b2c.getResultParametersMap(ab).AccountBalance)
  end)

  it("accepts a decoded table as well as JSON text", function()
    local decoded = require("cjson").decode(fixture("b2c_result_success_docs_v3.json"))
    local r = assert(b2c.parseDarajaResult(decoded))
    assert.are.equal("SG632NMUAB", b2c.getResultParametersMap(r).TransactionReceipt)
    assert.are.equal("SG632NMUAB", b2c.getResultParametersMap(decoded).TransactionReceipt)
  end)
end)

describe("b2c.parseDarajaResult quirks", function()
  local function parse(result)
    return b2c.parseDarajaResult(require("cjson").encode({ Result = result }))
  end

  it("takes a single-object ResultParameter", function()
    local r = assert(parse({ ResultCode = 0, OriginatorConversationID = "o1",
      ResultParameters = { ResultParameter = { Key = "TransactionReceipt", Value = "ABC123" } } }))
    assert.are.same({ TransactionReceipt = "ABC123" }, b2c.getResultParametersMap(r))
  end)

  it("takes absent ResultParameters and ReferenceData", function()
    local r = assert(parse({ ResultCode = 1, ConversationID = "AG_1" }))
    assert.is_false(r.ok)
    assert.are.same({}, r.parameters)
    assert.are.same({}, r.referenceData)
  end)

  it("takes ReferenceItem as an array, an empty array or an object", function()
    local arr = assert(parse({ ResultCode = 0, ConversationID = "c",
      ReferenceData = { ReferenceItem = { { Key = "A", Value = 1 }, { Key = "B" } } } }))
    assert.are.equal(2, #arr.referenceData)
    assert.is_nil(arr.referenceData[2].Value)
    local empty = assert(parse({ ResultCode = 0, ConversationID = "c", ReferenceData = { ReferenceItem = {} } }))
    assert.are.same({}, empty.referenceData)
  end)

  it("keeps string and non-numeric codes as sent", function()
    local r = assert(parse({ ResultCode = "SFC_IC0003", ResultType = "0", OriginatorConversationID = "o" }))
    assert.is_false(r.ok)
    assert.are.equal("SFC_IC0003", r.ResultCode)
    assert.are.equal("0", r.ResultType)
    local zero = assert(parse({ ResultCode = "0", OriginatorConversationID = "o" }))
    assert.is_true(zero.ok)
    assert.are.equal("0", zero.ResultCode)
    local reversal = assert(parse({ ResultCode = "R000002", OriginatorConversationID = "o" }))
    assert.is_false(reversal.ok)
  end)

  it("tolerates Name instead of Key, keys with spaces and values of any type", function()
    local r = assert(parse({ ResultCode = 0, OriginatorConversationID = "o", ResultParameters = {
      ResultParameter = { { Name = "TransactionAmount", Value = "300" }, { Key = "Conversation ID", Value = "AG_9" },
        { Key = "Nested", Value = { x = 1 } }, { Value = "no key" }, "junk" } } }))
    local p = b2c.getResultParametersMap(r)
    assert.are.equal("300", p.TransactionAmount)
    assert.are.equal("AG_9", p["Conversation ID"])
    assert.is_nil(p.Nested)
    assert.are.equal(3, #r.parameters)
  end)

  it("keeps the raw document for audit", function()
    local r = assert(parse({ ResultCode = 0, OriginatorConversationID = "o", Extra = "kept" }))
    assert.are.equal("kept", r.raw.Result.Extra)
  end)
end)

describe("b2c.parseDarajaResult on bad input", function()
  local cases = {
    { "not JSON", "{nope" },
    { "JSON that is not an object", "[1,2]" },
    { "no Result", '{"Body":{}}' },
    { "Result not an object", '{"Result":"x"}' },
    { "no conversation ids", '{"Result":{"ResultCode":0}}' },
    { "no ResultCode", '{"Result":{"OriginatorConversationID":"o"}}' },
    { "a number", 42 },
    { "nil", nil },
    { "a function", print },
    { "deep nesting", string.rep("[", 100000) },
    { "empty string", "" },
  }
  for _, case in ipairs(cases) do
    it("returns a callback error for " .. case[1], function()
      local r, err = b2c.parseDarajaResult(case[2])
      assert.is_nil(r)
      assert.are.equal("callback", err.kind)
      assert.are.equal(err.message, tostring(err))
    end)
  end
  it("raises when getResultParametersMap is misused", function()
    assert.has_error(function() b2c.getResultParametersMap("x") end)
  end)
end)

describe("b2c.parseQueueTimeout", function()
  it("finds the OCID at the top level (an echo of the request)", function()
    local t = assert(b2c.parseQueueTimeout(fixture("b2c_v3_request_docs.json")))
    assert.are.equal("600997_Test_32et3241ed8yu", t.OriginatorConversationID)
  end)
  it("finds the OCID under Result", function()
    local t = assert(b2c.parseQueueTimeout('{"Result":{"OriginatorConversationID":"x-1","ConversationID":"AG_2"}}'))
    assert.are.equal("x-1", t.OriginatorConversationID)
    assert.are.equal("AG_2", t.ConversationID)
  end)
  it("rejects a notification without an OCID", function()
    local t, err = b2c.parseQueueTimeout('{"hello":1}')
    assert.is_nil(t)
    assert.are.equal("callback", err.kind)
  end)
end)
