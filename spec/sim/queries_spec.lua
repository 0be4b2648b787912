-- b2c-sim: Transaction Status and Account Balance.
local H = require("sim.helper")
local sim = H.sim

describe("b2c-sim queries", function()
  local ctx = H.session()

  local function pay(over)
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential, over)
    local res = H.post(ctx.s, H.PAY, body, ctx.token)
    assert.are.equal(200, res.status)
    return body
  end

  local function status_body(over)
    local body = {
      Initiator = "testapi",
      SecurityCredential = ctx.credential,
      CommandID = "TransactionStatusQuery",
      PartyA = "600992",
      IdentifierType = "4",
      ResultURL = ctx.receiver:urlFor("/status"),
      QueueTimeOutURL = ctx.receiver:urlFor("/status-timeout"),
      Remarks = "reconcile",
      Occasion = "check",
    }
    for k, v in pairs(over or {}) do
      body[k] = v or nil
    end
    return body
  end

  -- Query and return (ack, Result of the callback).
  local function query(over)
    local res = H.post(ctx.s, H.STATUS, status_body(over), ctx.token)
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("0", res.json.ResponseCode)
    assert.are.equal("Accept the service request successfully.", res.json.ResponseDescription)
    assert.matches("^AG_", res.json.ConversationID)
    local deadline = require("socket").gettime() + 3
    while require("socket").gettime() < deadline do
      local got = H.at(ctx.receiver:wait(#ctx.receiver.received + 1, 0.2), "/status")
      for _, g in ipairs(got) do
        if g.body.Result.ConversationID == res.json.ConversationID then
          return res.json, g.body.Result, g
        end
      end
    end
    error("no status result arrived")
  end

  it("reports a completed payout found by OriginalConversationID", function()
    local body = pay({ Amount = 300 })
    local first = ctx.receiver:wait(1, 3)[1].body.Result
    local ack, r = query({ OriginalConversationID = body.OriginatorConversationID })
    assert.are.equal(0, r.ResultCode)
    assert.are.equal(0, r.ResultType)
    assert.are.equal("The service request is processed successfully.", r.ResultDesc)
    assert.are.equal(ack.OriginatorConversationID, r.OriginatorConversationID)
    assert.are.equal(first.TransactionID, r.TransactionID)
    local p = H.params(r)
    assert.are.equal("Completed", p.TransactionStatus)
    assert.are.equal("300", p.Amount)
    assert.are.equal(first.TransactionID, p.ReceiptNo)
    assert.are.equal(body.OriginatorConversationID, p.OriginatorConversationID)
    assert.are.equal(first.ConversationID, p.ConversationID)
    assert.matches("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d$", p.FinalisedTime)
    assert.matches("^%d+$", p.InitiatedTime)
    assert.matches("^Fee For B2C Payment|KES|%d+%.%d%d$", p.DebitPartyCharges)
    assert.are.equal("Business Payment to Customer via API", p.ReasonType)
    assert.matches("^254708374149 %- ", p.CreditPartyName)
    assert.are.equal("Occasion", r.ReferenceData.ReferenceItem.Key)
    assert.are.equal("check", r.ReferenceData.ReferenceItem.Value)
    local q = ctx.s:stats().queries[1]
    assert.are.equal("transactionstatus", q.kind)
    assert.are.equal(body.OriginatorConversationID, q.found)
  end)

  it("finds a payout by its receipt (TransactionID), also spelled with spaces", function()
    pay({ Amount = 700 })
    local receipt = ctx.receiver:wait(1, 3)[1].body.Result.TransactionID
    local _, r = query({ TransactionID = receipt })
    assert.are.equal("Completed", H.params(r).TransactionStatus)
    assert.are.equal("700", H.params(r).Amount)
    local _, r2 = query({ CommandID = false, ["Command ID"] = "TransactionStatusQuery",
      ["Transaction ID"] = receipt })
    assert.are.equal(receipt, H.params(r2).ReceiptNo)
  end)

  it("reports the true state of a payout whose callback never came", function()
    local body = pay({ PartyB = "254700009002" })
    local _, r = query({ OriginalConversationID = body.OriginatorConversationID })
    assert.are.equal("Completed", H.params(r).TransactionStatus)
  end)

  it("reports a failed payout as Failed, with its reason", function()
    local body = pay({ PartyB = "254700000001" })
    ctx.receiver:wait(1, 3)
    local _, r = query({ OriginalConversationID = body.OriginatorConversationID })
    assert.are.equal(0, r.ResultCode)
    local p = H.params(r)
    assert.are.equal("Failed", p.TransactionStatus)
    assert.are.equal("The balance is insufficient for the transaction.", p.TransactionReason)
    assert.are.equal(1, p.SimOriginalResultCode)
    assert.is_nil(p.ReceiptNo)
  end)

  it("answers an unknown transaction with 2032", function()
    local _, r = query({ OriginalConversationID = "never-sent-anything" })
    assert.are.equal(2032, r.ResultCode)
    assert.are.equal("The transaction receipt number does not exist.", r.ResultDesc)
    assert.is_nil(r.ResultParameters)
    local _, r2 = query({ TransactionID = "ZZ90000000" })
    assert.are.equal(2032, r2.ResultCode)
  end)

  it("answers 2001 when the query's credential is wrong", function()
    local body = pay()
    local _, r = query({ OriginalConversationID = body.OriginatorConversationID,
      SecurityCredential = ctx.s:credential("bad password") })
    assert.are.equal(2001, r.ResultCode)
    assert.is_nil(r.ResultParameters)
  end)

  it("checks the query's fields", function()
    local cases = {
      { { Initiator = false }, "Initiator" },
      { { SecurityCredential = "%%%" }, "SecurityCredential" },
      { { CommandID = "BusinessPayment" }, "CommandID" },
      { {}, "TransactionID" }, -- neither TransactionID nor OriginalConversationID
      { { TransactionID = "", OriginalConversationID = "" }, "TransactionID" },
      { { TransactionID = "X", PartyA = "x" }, "PartyA" },
      { { TransactionID = "X", IdentifierType = "9" }, "IdentifierType" },
      { { TransactionID = "X", Remarks = "" }, "Remarks" },
      { { TransactionID = "X", QueueTimeOutURL = "nope" }, "QueueTimeOutURL" },
      { { TransactionID = "X", ResultURL = "gopher://x" }, "ResultURL" },
    }
    for _, c in ipairs(cases) do
      local res = H.post(ctx.s, H.STATUS, status_body(c[1]), ctx.token)
      assert.are.equal(400, res.status, c[2])
      assert.are.equal("400.002.02", res.json.errorCode)
      assert.are.equal("Bad Request - Invalid " .. c[2], res.json.errorMessage)
    end
  end)

  it("needs a valid token", function()
    local res = H.post(ctx.s, H.STATUS, status_body({ TransactionID = "X" }), "bogus")
    assert.are.equal(404, res.status)
    assert.are.equal("404.001.03", res.json.errorCode)
  end)

  describe("Account Balance", function()
    local function balance_body(over)
      local body = {
        Initiator = "testapi",
        SecurityCredential = ctx.credential,
        CommandID = "AccountBalance",
        PartyA = "600992",
        IdentifierType = "4",
        Remarks = "balance",
        QueueTimeOutURL = ctx.receiver:urlFor("/ab-timeout"),
        ResultURL = ctx.receiver:urlFor("/balance"),
      }
      for k, v in pairs(over or {}) do
        body[k] = v or nil
      end
      return body
    end

    it("reports the simulated balances, debited by payouts", function()
      pay({ Amount = 2000 }) -- charge 15.00
      ctx.receiver:wait(1, 3)
      local res = H.post(ctx.s, H.BALANCE, balance_body(), ctx.token)
      assert.are.equal(200, res.status)
      assert.are.equal("0", res.json.ResponseCode)
      local got = H.at(ctx.receiver:wait(2, 3), "/balance")
      assert.are.equal(1, #got)
      local r = got[1].body.Result
      assert.are.equal("0", r.ResultCode)
      assert.are.equal("0", r.ResultType)
      assert.are.equal(res.json.OriginatorConversationID, r.OriginatorConversationID)
      local p = H.params(r)
      assert.are.equal("Working Account|KES|500000.00|500000.00|0.00|0.00"
        .. "&Float Account|KES|0.00|0.00|0.00|0.00"
        .. "&Utility Account|KES|998000.00|998000.00|0.00|0.00"
        .. "&Charges Paid Account|KES|-15.00|-15.00|0.00|0.00"
        .. "&Organization Settlement Account|KES|0.00|0.00|0.00|0.00", p.AccountBalance)
      assert.matches("^%d+$", p.BOCompletedTime)
      assert.are.equal("QueueTimeoutURL", r.ReferenceData.ReferenceItem.Key)
    end)

    it("uses the balance set with --balance", function()
      local other = sim.start({ balance = 1234.5, callbackDelay = 0.01 })
      finally(function() other:stop() end)
      local res = H.post(other, H.BALANCE, balance_body({ SecurityCredential = other:credential() }), other:token())
      assert.are.equal(200, res.status)
      local got = H.at(ctx.receiver:wait(#ctx.receiver.received + 1, 3), "/balance")
      assert.matches("Utility Account|KES|1234%.50|1234%.50", H.params(got[#got].body.Result).AccountBalance)
    end)

    it("checks its fields", function()
      local res = H.post(ctx.s, H.BALANCE, balance_body({ CommandID = "TransactionStatusQuery" }), ctx.token)
      assert.are.equal(400, res.status)
      assert.are.equal("Bad Request - Invalid CommandID", res.json.errorMessage)
      local res2 = H.post(ctx.s, H.BALANCE, balance_body({ ResultURL = false }), ctx.token)
      assert.are.equal("Bad Request - Invalid ResultURL", res2.json.errorMessage)
    end)

    it("answers 2001 for a wrong credential", function()
      H.post(ctx.s, H.BALANCE, balance_body({ SecurityCredential = ctx.s:credential("nope") }), ctx.token)
      local got = H.at(ctx.receiver:wait(1, 3), "/balance")
      assert.are.equal(2001, got[1].body.Result.ResultCode)
      assert.is_nil(got[1].body.Result.ResultParameters)
    end)
  end)
end)
