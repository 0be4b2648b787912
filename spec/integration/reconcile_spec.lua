-- Reconciliation against the simulator: Transaction Status by OCID and by
-- receipt, Account Balance, and the verdicts they lead to.
local b2c = require("b2c")
local sim = require("support.sim")

local STATUS = "/mpesa/transactionstatus/v1/query"
local BALANCE = "/mpesa/accountbalance/v1/query"

describe("reconciliation queries against the simulator", function()
  local ctx = sim.session({ callbackDelay = 0.05 }, { reset = true })

  local function client(over)
    local cfg = {
      consumerKey = ctx.s.consumerKey, consumerSecret = ctx.s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = ctx.s.initiatorPassword, certificate = ctx.s.certificate,
      baseUrl = ctx.s.url, resultUrl = ctx.receiver:urlFor("/result"),
      queueTimeOutUrl = ctx.receiver:urlFor("/timeout"), timeout = 5,
    }
    for k, v in pairs(over or {}) do cfg[k] = v or nil end -- false: leave the setting out
    return assert(b2c.new(cfg))
  end

  local function pay(mpesa, phone, amount)
    local ocid = b2c.newOriginatorConversationId()
    assert(mpesa.b2c.send({ recipientPhone = phone, amount = amount, remarks = "Reconcile spec",
      originatorConversationId = ocid }))
    return ocid
  end

  local function status(mpesa, fields)
    fields.resultUrl = fields.resultUrl or ctx.receiver:urlFor("/status")
    local ack = assert(mpesa.transactionStatus.query(fields))
    assert.are.equal("0", ack.ResponseCode)
    local req = ctx.callback("/status", ack.ConversationID)
    local result = assert(b2c.parseDarajaResult(req.raw))
    assert.are.equal(ack.ConversationID, result.ConversationID)
    local v = assert(b2c.statusVerdict(result))
    assert.are.equal(ack.ConversationID, v.queryConversationId)
    return v, ack
  end

  it("finds a completed payout by OriginatorConversationID", function()
    local mpesa = client()
    local ocid = pay(mpesa, "0708374149", 500)
    local paid = b2c.getResultParametersMap(assert(b2c.parseDarajaResult(ctx.callback("/result", ocid).raw)))
    local v = status(mpesa, { originatorConversationId = ocid })
    assert.are.equal("completed", v.verdict)
    assert.are.equal(500, v.amount)
    assert.are.equal(paid.TransactionReceipt, v.receipt)
    assert.are.equal(ocid, v.originatorConversationId)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$", v.time)
    assert.are.equal("Completed", v.status)
    assert.matches("^254708374149 %- ", v.creditParty)
    local st = ctx.s:stats()
    assert.are.equal(1, st.requests[STATUS])
    local q = st.queries[1]
    assert.are.equal(ocid, q.asked.originalConversationId)
    assert.is_true(q.credentialValid)
    mpesa:close()
  end)

  it("finds a completed payout by its receipt", function()
    local mpesa = client()
    local ocid = pay(mpesa, "0708374149", 1500)
    local paid = b2c.getResultParametersMap(assert(b2c.parseDarajaResult(ctx.callback("/result", ocid).raw)))
    local v = status(mpesa, { transactionId = paid.TransactionReceipt, occasion = "audit" })
    assert.are.equal("completed", v.verdict)
    assert.are.equal(1500, v.amount)
    assert.are.equal(ocid, v.originatorConversationId)
    assert.are.equal(5, v.charges)
    assert.are.equal(paid.TransactionReceipt, ctx.s:stats().queries[1].asked.transactionId)
    mpesa:close()
  end)

  it("reports a failed payout as failed, with the reason", function()
    local mpesa = client()
    local ocid = pay(mpesa, "0700000001", 1200)
    local failed = assert(b2c.parseDarajaResult(ctx.callback("/result", ocid).raw))
    assert.are.equal(1, failed.ResultCode)
    local v = status(mpesa, { originatorConversationId = ocid })
    assert.are.equal("failed", v.verdict)
    assert.are.equal("The balance is insufficient for the transaction.", v.reason)
    assert.is_nil(v.receipt)
    assert.matches("safe to pay again", v.advice)
    mpesa:close()
  end)

  it("reports an OCID M-Pesa never saw as not_found", function()
    local mpesa = client()
    local v = status(mpesa, { originatorConversationId = "never-sent-" .. os.time() })
    assert.are.equal("not_found", v.verdict)
    assert.are.equal(2032, v.resultCode)
    assert.is_nil(v.amount)
    mpesa:close()
  end)

  it("reports a payout that ended in a queue timeout, but completed, as completed", function()
    local mpesa = client()
    local ocid = pay(mpesa, "0700009001", 2500)
    local note = assert(b2c.parseQueueTimeout(ctx.callback("/timeout", ocid).raw))
    assert.are.equal(ocid, note.OriginatorConversationID)
    local v = status(mpesa, { originatorConversationId = ocid })
    assert.are.equal("completed", v.verdict)
    assert.are.equal(2500, v.amount)
    assert.matches("^%w+$", v.receipt)
    mpesa:close()
  end)

  it("reports a payout whose callback never came, but completed, as completed", function()
    local mpesa = client()
    local ocid = pay(mpesa, "0700009002", 700)
    local v = status(mpesa, { originatorConversationId = ocid })
    assert.are.equal("completed", v.verdict)
    assert.are.equal(700, v.amount)
    mpesa:close()
  end)

  it("a query with a wrong credential is pending (queryFailed), never failed", function()
    local mpesa = client({ initiatorPassword = "wrong password" })
    local v = status(mpesa, { originatorConversationId = "some-ocid" })
    assert.are.equal("pending", v.verdict)
    assert.is_true(v.queryFailed)
    assert.are.equal(2001, v.resultCode)
    assert.matches("do not pay again", v.advice)
    mpesa:close()
  end)

  it("reads the account balance, debited by a payout", function()
    local mpesa = client()
    ctx.callback("/result", pay(mpesa, "0708374149", 500))
    local ack = assert(mpesa.accountBalance.query({ resultUrl = ctx.receiver:urlFor("/balance") }))
    assert.are.equal("0", ack.ResponseCode)
    local accounts = assert(b2c.parseAccountBalance(ctx.callback("/balance").raw))
    assert.are.equal(5, #accounts)
    assert.are.equal(999500, accounts["Utility Account"].amount)
    assert.are.equal(500000, accounts["Working Account"].amount)
    assert.are.equal(-5, accounts["Charges Paid Account"].amount)
    assert.are.equal("KES", accounts[1].currency)
    assert.are.equal(1, ctx.s:stats().requests[BALANCE])
    mpesa:close()
  end)

  it("a balance query with a wrong credential gives an error from the parser", function()
    local mpesa = client({ initiatorPassword = "wrong password" })
    assert(mpesa.accountBalance.query({ resultUrl = ctx.receiver:urlFor("/balance"), remarks = "Before payroll" }))
    local accounts, err = b2c.parseAccountBalance(ctx.callback("/balance").raw)
    assert.is_nil(accounts)
    assert.are.equal("callback", err.kind)
    assert.are.equal("2001", err.code)
    assert.are.equal("configuration", (b2c.describe(2001)))
    mpesa:close()
  end)

  it("checks every field before any request", function()
    local mpesa = client()
    local cases = {
      { {}, "originatorConversationId" },
      { { originatorConversationId = "bad id!" }, "originatorConversationId" },
      { { transactionId = "SG6 32" }, "transactionId" },
      { { originatorConversationId = "x", remarks = "a" }, "remarks" },
      { { originatorConversationId = "x", occasion = "" }, "occasion" },
      { { originatorConversationId = "x", resultUrl = "ftp://x" }, "resultUrl" },
      { { originatorConversationId = "x", amount = 5 }, "amount" },
    }
    for _, c in ipairs(cases) do
      local ack, err = mpesa.transactionStatus.query(c[1])
      assert.is_nil(ack)
      assert.are.equal("validation", err.kind)
      assert.are.equal(c[2], err.field)
    end
    local ack, err = mpesa.accountBalance.query({ recipientPhone = "0708374149" })
    assert.is_nil(ack)
    assert.are.equal("recipientPhone", err.field)
    assert.has_error(function() mpesa.transactionStatus.query("ocid") end)
    local bare = client({ resultUrl = false })
    ack, err = bare.accountBalance.query({})
    assert.is_nil(ack)
    assert.are.equal("resultUrl", err.field)
    local st = ctx.s:stats()
    assert.is_nil(st.requests[STATUS])
    assert.is_nil(st.requests[BALANCE])
    assert.are.equal(0, st.tokensIssued)
    mpesa:close()
    bare:close()
  end)

  it("fetches a new token once when the gateway refuses it, like send", function()
    local mpesa = client()
    assert(mpesa.accountBalance.query({}))
    ctx.s:revokeTokens()
    assert(mpesa.transactionStatus.query({ originatorConversationId = "x" }))
    local st = ctx.s:stats()
    assert.are.equal(2, st.tokensIssued)
    assert.are.equal(2, st.requests[STATUS]) -- refused once, sent again once
    mpesa:close()
  end)

  it("a query without an answer is a timeout that is safe to repeat", function()
    local mpesa = client({ timeout = 1 })
    local ack, err = mpesa.transactionStatus.query({ originatorConversationId = "x",
      remarks = "Status sim:fault=drop" })
    assert.is_nil(ack)
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.retryable)
    assert.matches("safe to try again", err.message)
    mpesa:close()
  end)

  it("accepts the method-call form", function()
    local mpesa = client()
    assert(mpesa.transactionStatus:query({ originatorConversationId = "x" }))
    assert(mpesa.accountBalance:query({}))
    mpesa:close()
  end)
end)
