-- b2c.statusVerdict on every Transaction Status fixture, and
-- b2c.parseAccountBalance.
local b2c = require("b2c")
local json = require("cjson")

local read = require("support.files").must

local function list(pattern)
  local p = assert(io.popen("ls " .. pattern .. " 2>/dev/null"))
  local files = {}
  for line in p:lines() do files[#files + 1] = line end
  p:close()
  return files
end

-- What each fixture must give. A fixture without an entry fails the spec.
local EXPECTED = {
  ["spec/fixtures/daraja/transactionstatus_result_success_docs_v3.json"] = {
    verdict = "completed", amount = 300, receipt = "MBN31H462N", time = "2018-02-23 05:41:12",
    initiatedTime = "2018-02-23 05:41:12", originatorConversationId = "3211-416020-3",
    conversationId = "AG_20180223_000041b09c22e613d6c9", status = "Completed",
    debitParty = "600310 - Safaricom333", creditParty = "254708374149 - John Doe", charges = 22.4,
    resultCode = 0,
  },
  ["spec/fixtures/status/completed_old_keys_with_spaces.json"] = {
    verdict = "completed", amount = 2750, receipt = "LH1A2B3C4D", time = "2017-08-01 14:30:05",
    initiatedTime = "2017-08-01 14:30:04", originatorConversationId = "payroll-2017-08-0042",
    conversationId = "AG_20170801_0000112233445566aabb", status = "Completed",
    debitParty = "600321 - Acme Payroll", creditParty = "254708374149 - Jane Wanjiku", charges = 15,
    resultCode = 0,
  },
  ["spec/fixtures/status/failed_sim.json"] = {
    verdict = "failed", amount = 1200, time = "2024-07-06 22:48:53", status = "Failed",
    reason = "The balance is insufficient for the transaction.",
    originatorConversationId = "refund-9001", creditParty = "254700000001 - JOHN DOE",
    initiatedTime = "2024-07-06 22:48:52", conversationId = "AG_20240706_00009999888877776666",
    debitParty = "600996 - b2c-sim Business", resultCode = 0,
  },
  ["spec/fixtures/status/not_found_2032.json"] = {
    verdict = "not_found", resultCode = "2032",
    reason = "The transaction receipt number does not exist.",
  },
  ["spec/fixtures/status/pending_single_parameter.json"] = {
    verdict = "pending", status = "Pending", resultCode = 0,
  },
  ["spec/fixtures/status/query_failed_2001.json"] = {
    verdict = "pending", queryFailed = true, resultCode = 2001,
    reason = "The initiator information is invalid.",
  },
}

local FIELDS = { "verdict", "amount", "receipt", "time", "initiatedTime", "originatorConversationId",
  "conversationId", "status", "reason", "debitParty", "creditParty", "charges", "resultCode",
  "queryFailed" }

describe("b2c.statusVerdict", function()
  local files = list("spec/fixtures/daraja/transactionstatus_result_*.json")
  for _, f in ipairs(list("spec/fixtures/status/*.json")) do files[#files + 1] = f end

  it("has an expectation for every status fixture", function()
    assert.is_true(#files >= 6)
    for _, f in ipairs(files) do assert.is_truthy(EXPECTED[f], "no expectation for " .. f) end
  end)

  for _, f in ipairs(files) do
    it("reads " .. f, function()
      local want = assert(EXPECTED[f])
      local text = read(f)
      local v = assert(b2c.statusVerdict(text))
      for _, k in ipairs(FIELDS) do
        if k == "charges" and want.charges then
          assert.is_true(math.abs(v.charges - want.charges) < 1e-9, f .. " charges")
        else
          assert.are.equal(want[k], v[k], f .. ": " .. k)
        end
      end
      assert.are.equal("string", type(v.advice))
      -- the same from a decoded table and from a parsed result
      assert.are.same(v.verdict, b2c.statusVerdict(json.decode(text)).verdict)
      local parsed = assert(b2c.parseDarajaResult(text))
      assert.are.equal(v.receipt, b2c.statusVerdict(parsed).receipt)
      -- a parsed result is read again from its raw document (see below)
      assert.are.same(parsed.raw, b2c.statusVerdict(parsed).result.raw)
    end)
  end

  it("never takes a placeholder TransactionID for a receipt", function()
    local doc = json.decode(read("spec/fixtures/daraja/transactionstatus_result_success_docs_v3.json"))
    local params = doc.Result.ResultParameters.ResultParameter
    table.remove(params) -- ReceiptNo
    local v = assert(b2c.statusVerdict(doc))
    assert.are.equal("completed", v.verdict)
    assert.is_nil(v.receipt) -- TransactionID is MBN0000000
  end)

  it("counts other final states as failed, unknown states as pending", function()
    local function verdict(state)
      return b2c.statusVerdict({ Result = { ResultCode = 0, ConversationID = "c",
        ResultParameters = { ResultParameter = { Key = "TransactionStatus", Value = state } } } }).verdict
    end
    assert.are.equal("failed", verdict("Cancelled"))
    assert.are.equal("failed", verdict("Declined"))
    assert.are.equal("failed", verdict("Reversed"))
    assert.are.equal("completed", verdict("COMPLETED"))
    assert.are.equal("pending", verdict("Authorized"))
    assert.are.equal("pending", verdict(""))
  end)

  it("reads a payout's own success callback as completed", function()
    local v = assert(b2c.statusVerdict(read("spec/fixtures/daraja/b2c_result_success_docs_v3.json")))
    assert.are.equal("completed", v.verdict)
    assert.is_truthy(v.receipt)
    assert.is_truthy(v.amount)
  end)

  it("returns nil, err for what is not a result, and never raises", function()
    for _, bad in ipairs({ "", "not json", "{}", '{"Result":{}}', 42, true }) do
      local v, err = b2c.statusVerdict(bad)
      assert.is_nil(v)
      assert.are.equal("callback", err.kind)
    end
  end)
end)

describe("b2c.parseAccountBalance", function()
  local function check_docs_sample(accounts)
    assert.are.equal(5, #accounts)
    local names = {}
    for i, a in ipairs(accounts) do names[i] = a.name end
    assert.are.same({ "Working Account", "Float Account", "Utility Account", "Charges Paid Account",
      "Organization Settlement Account" }, names)
    assert.are.equal(228037, accounts["Utility Account"].amount)
    assert.are.equal(700000, accounts["Working Account"].amount)
    assert.are.equal(-1540, accounts["Charges Paid Account"].amount)
    assert.are.equal("KES", accounts["Utility Account"].currency)
    assert.are.same({ 228037, 228037, 0, 0 }, accounts["Utility Account"].amounts)
    assert.are.equal("number", type(accounts[2].amount))
  end

  it("reads the documented sample as JSON text, decoded table and parsed result", function()
    local text = read("spec/fixtures/daraja/accountbalance_result_success_docs_v3.json")
    check_docs_sample(assert(b2c.parseAccountBalance(text)))
    check_docs_sample(assert(b2c.parseAccountBalance(json.decode(text))))
    check_docs_sample(assert(b2c.parseAccountBalance(assert(b2c.parseDarajaResult(text)))))
  end)

  it("reads the AccountBalance text itself", function()
    local accounts = assert(b2c.parseAccountBalance(
      "Utility Account|KES|1234.50|1234.50|0.00|0.00&Working Account|KES|0.00|0.00|0.00|0.00&"))
    assert.are.equal(2, #accounts)
    assert.are.equal(1234.5, accounts["Utility Account"].amount)
    assert.are.equal(0, accounts[2].amount)
  end)

  it("keeps short records and unknown trailing fields", function()
    local accounts = assert(b2c.parseAccountBalance("Utility Account|KES|10&Other|USD|1.25|n/a"))
    assert.are.equal(10, accounts[1].amount)
    assert.are.same({ 1.25, "n/a" }, accounts[2].amounts)
  end)

  it("refuses malformed records, failed queries and results without a balance", function()
    local cases = {
      "Utility Account|KES",
      "Utility Account|KES|lots",
      "|KES|10",
      "",
      '{"Result":{"ResultCode":2001,"ResultDesc":"The initiator information is invalid.","ConversationID":"c"}}',
      read("spec/fixtures/daraja/b2c_result_success_docs_v3.json"),
      "{not json",
    }
    for _, c in ipairs(cases) do
      local accounts, err = b2c.parseAccountBalance(c)
      assert.is_nil(accounts, c)
      assert.are.equal("callback", err.kind)
    end
    local _, err = b2c.parseAccountBalance(cases[5])
    assert.are.equal("2001", err.code)
  end)
end)
