-- mpesa.b2pochi.send, mpesa.b2cTopUp.send, mpesa.b2b.send and
-- mpesa.reversal.request through the public API, over real HTTP against
-- the simulator: the acknowledgement, the result callback parsed, an
-- ambiguous fault never resent, and sendBatch for a money mover. Needs the
-- client that builds its namespaces from the operation registry.
local b2c = require("b2c")
local sim = require("support.sim")

describe("operations added in issue 12, through the public API", function()
  -- A fresh receiver per test: a callback of an earlier test (a dropped
  -- answer's payout is still processed and called back) lands elsewhere.
  local ctx = sim.session({ callbackDelay = 0.05 }, { reset = true, freshReceiver = true })
  local credential

  -- Closed when the test ends, passed or failed: a client left open keeps
  -- its token cached, and the next test (after the reset) would start with
  -- a refused token.
  local function client()
    local mpesa = assert(b2c.new({
      consumerKey = ctx.s.consumerKey, consumerSecret = ctx.s.consumerSecret, shortCode = "600992",
      initiatorName = "testapi", securityCredential = credential, baseUrl = ctx.s.url,
      resultUrl = ctx.receiver.url, queueTimeOutUrl = ctx.receiver.url, timeout = 5,
    }))
    finally(function() mpesa:close() end)
    return mpesa
  end

  local CALLS = {
    { "b2pochi", "send", { recipientPhone = "0705912645", amount = 100, remarks = "Pochi payout" } },
    { "b2cTopUp", "send", { receiverShortCode = "600000", amount = 5000, remarks = "Salary float" } },
    { "b2b", "send", { commandId = "BusinessPayBill", receiverShortCode = "888880",
      accountReference = "INV-17", amount = 239, remarks = "Invoice 17" } },
    { "b2b", "send", { commandId = "BusinessBuyGoods", receiverShortCode = "123456", amount = 300,
      remarks = "Stock" } },
    { "reversal", "request", { transactionId = "PDU91HIVIT", amount = 200, remarks = "Double payment" } },
  }

  setup(function()
    credential = assert(b2c.securityCredential(ctx.s.initiatorPassword, ctx.s.certificate))
  end)
  before_each(function()
    ctx.receiver.received = {}
  end)

  for _, call in ipairs(CALLS) do
    local ns, verb, p = call[1], call[2], call[3]
    it("mpesa." .. ns .. "." .. verb .. " is acknowledged and its result parses", function()
      local mpesa = client()
      local ack = assert(mpesa[ns][verb](p))
      assert.are.equal("0", ack.ResponseCode)
      assert.is_string(ack.OriginatorConversationID)
      local got = ctx.callback("/callback", ack.OriginatorConversationID)
      local r = assert(b2c.parseDarajaResult(got.raw))
      assert.is_true(r.ok, tostring(r.ResultCode))
      assert.are.equal(ack.ConversationID, r.ConversationID)
      assert.are.equal(ack.OriginatorConversationID, r.OriginatorConversationID)
      assert.are.equal("success", (b2c.describe(r)))
    end)

    it("mpesa." .. ns .. "." .. verb .. ": a dropped answer is ambiguous and never resent", function()
      local mpesa = client()
      local path = require("b2c.operations").get(ns).path
      ctx.s:config({ fault = { spec = "drop", count = 1, path = path } })
      local ack, err = mpesa[ns][verb](p)
      assert.is_nil(ack)
      assert.are.equal("timeout", err.kind)
      assert.are.equal("ambiguous", err.outcome)
      assert.is_false(err.retryable)
      local st = ctx.s:stats()
      assert.are.equal(1, st.requests[path], "sent once, never again")
    end)
  end

  it("B2C Account Top Up's ambiguous error says how to reconcile without an OCID", function()
    local mpesa = client()
    ctx.s:config({ fault = { spec = "drop", count = 1, path = "/mpesa/b2b/v1/paymentrequest" } })
    local _, err = mpesa.b2cTopUp.send(CALLS[2][3])
    assert.matches("no id to query by", err.message, 1, true)
    assert.matches("statement", err.message, 1, true)
    assert.is_nil(err.message:find("OriginatorConversationID nil", 1, true))
    local _, advice = b2c.describe(err)
    assert.matches("none to query by", advice, 1, true)
  end)

  it("sendBatch pays a list of B2B payments", function()
    local mpesa = client()
    local list = {}
    for i = 1, 6 do
      list[i] = { commandId = "BusinessBuyGoods", receiverShortCode = "123456", amount = 100 + i,
        remarks = "Stock " .. i, reference = i }
    end
    local report = mpesa.b2b.sendBatch(list, { concurrency = 3 })
    assert.are.equal(6, report.total)
    assert.are.equal(6, report.accepted)
    assert.are.equal(6, #ctx.receiver:wait(6, 5))
  end)

  it("sendBatch of B2Pochi payouts keys each by the caller's OCID, sent once", function()
    local mpesa = client()
    local list = {}
    for i = 1, 5 do
      list[i] = { recipientPhone = "0705912645", amount = 100 + i, remarks = "Pochi " .. i,
        originatorConversationId = "pochi-batch-" .. i }
    end
    local report = mpesa.b2pochi.sendBatch(list, { concurrency = 2 })
    assert.are.equal(5, report.accepted)
    local st = ctx.s:stats()
    for i = 1, 5 do assert.are.equal(1, st.sendsByOcid["pochi-batch-" .. i]) end
  end)

  it("a bad field is refused before any I/O", function()
    local mpesa = client()
    local ack, err = mpesa.reversal.request({ transactionId = "not a receipt", amount = 1, remarks = "xx" })
    assert.is_nil(ack)
    assert.are.equal("transactionId", err.field)
    assert.is_nil(ctx.s:stats().requests["/mpesa/reversal/v1/request"])
  end)
end)
