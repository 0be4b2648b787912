-- b2c-sim: B2Pochi, B2B (Pay Bill, Buy Goods), B2C Account Top Up and
-- Reversal. Each checks its request with the SDK operation module's rules
-- (op.wire), answers Daraja's error for the first bad field, acknowledges
-- a good request and posts its result callback.
local H = require("sim.helper")

local POCHI = "/mpesa/b2pochi/v1/paymentrequest"
local B2B = "/mpesa/b2b/v1/paymentrequest"
local REVERSAL = "/mpesa/reversal/v1/request"

-- A value that breaks a wire entry of each kind.
local BAD = {
  credential = "not base64!", name = "", values = "Nope", amount = "10.5", shortcode = "12",
  msisdn = "0712345678", url = "nope", receipt = "AB CD", ocid = "",
}
local function bad_value(e)
  if e[2] == "text" then return string.rep("x", (e.max or 100) + 1) end
  return BAD[e[2]]
end

describe("b2c-sim operations added in issue 12", function()
  local ctx = H.session()

  local function bodies()
    local urls = { QueueTimeOutURL = ctx.receiver:urlFor("/timeout"), ResultURL = ctx.receiver:urlFor("/result") }
    local function with(t, over)
      for k, v in pairs(urls) do t[k] = v end
      t.SecurityCredential = ctx.credential
      for k, v in pairs(over or {}) do t[k] = v or nil end
      return t
    end
    return {
      b2pochi = function(over)
        return POCHI, with({ OriginatorConversationID = H.ocid("pochi"), InitiatorName = "testapi",
          CommandID = "BusinessPayToPochi", Amount = "10", PartyA = "600992", PartyB = "254705912645",
          Remarks = "remarked", Occassion = "ChristmasPay" }, over)
      end,
      b2b = function(over)
        return B2B, with({ Initiator = "testapi", CommandID = "BusinessPayBill",
          SenderIdentifierType = "4", RecieverIdentifierType = "4", Amount = "239", PartyA = "600992",
          PartyB = "888880", AccountReference = "353353", Requester = "254708374149", Remarks = "OK" }, over)
      end,
      b2c_top_up = function(over)
        return B2B, with({ Initiator = "testapi", CommandID = "BusinessPayToBulk",
          SenderIdentifierType = "4", RecieverIdentifierType = "4", Amount = "239", PartyA = "600979",
          PartyB = "600000", AccountReference = "353353", Remarks = "OK" }, over)
      end,
      reversal = function(over)
        return REVERSAL, with({ Initiator = "apiop37", CommandID = "TransactionReversal",
          TransactionID = "PDU91HIVIT", Amount = "200", ReceiverParty = "603021",
          RecieverIdentifierType = "11", Remarks = "Payment reversal" }, over)
      end,
    }
  end

  local function post(name, over)
    local path, body = bodies()[name](over)
    return H.post(ctx.s, path, body, ctx.token), body
  end

  local function result_of(res)
    local got = ctx.receiver:wait(1, 3)
    assert.are.equal(1, #got, "no callback")
    assert.are.equal("/result", got[1].path)
    local r = got[1].body.Result
    assert.are.equal(res.json.ConversationID, r.ConversationID)
    assert.are.equal(res.json.OriginatorConversationID, r.OriginatorConversationID)
    return r, got[1].raw
  end

  for _, name in ipairs({ "b2pochi", "b2b", "b2c_top_up", "reversal" }) do
    describe(name, function()
      local op = require("b2c.operations." .. name)

      it("acknowledges a good request like Daraja", function()
        local res, body = post(name)
        assert.are.equal(200, res.status, res.body)
        assert.are.equal("0", res.json.ResponseCode)
        assert.are.equal("Accept the service request successfully.", res.json.ResponseDescription)
        assert.matches("^AG_%d+_%x+$", res.json.ConversationID)
        if op.ocidField then
          assert.are.equal(body.OriginatorConversationID, res.json.OriginatorConversationID)
        else
          assert.is_string(res.json.OriginatorConversationID) -- Daraja makes it
        end
        local r = result_of(res)
        assert.is_truthy(r.ResultCode == 0 or r.ResultCode == "0", tostring(r.ResultCode))
      end)

      it("refuses each field that breaks Daraja's rule, naming it", function()
        for _, e in ipairs(op.wire) do
          local res = post(name, { [e[1]] = bad_value(e) })
          assert.are.equal(400, res.status, e[1] .. ": " .. res.body)
          assert.are.equal("400.002.02", res.json.errorCode)
          assert.are.equal("Bad Request - Invalid " .. e[1], res.json.errorMessage)
          if not e.optional then
            res = post(name, { [e[1]] = false })
            assert.are.equal("Bad Request - Invalid " .. e[1], res.json.errorMessage)
          end
        end
        assert.are.equal(0, #ctx.receiver:collect(0.2))
        assert.are.equal(0, #ctx.s:stats().payouts)
      end)
    end)
  end

  it("B2Pochi: a B2C result, the duplicate-OCID answer and the insufficient-funds scenario", function()
    local res, body = post("b2pochi", { Amount = 1500 })
    local r = result_of(res)
    local p = H.params(r)
    assert.are.equal(1500, p.TransactionAmount)
    assert.are.equal(r.TransactionID, p.TransactionReceipt)
    assert.are.equal("Y", p.B2CRecipientIsRegisteredCustomer)
    local again = post("b2pochi", { OriginatorConversationID = body.OriginatorConversationID })
    assert.are.equal(500, again.status)
    assert.are.equal("500.002.1001", again.json.errorCode)
    ctx.receiver.received = {}
    res = post("b2pochi", { PartyB = "254700000001" })
    r = result_of(res)
    assert.are.equal(1, r.ResultCode)
    assert.is_nil(r.ResultParameters)
    local st = ctx.s:stats()
    assert.are.equal("b2pochi", st.payouts[1].api)
    assert.are.equal("BusinessPayToPochi", st.payouts[1].commandId)
  end)

  it("B2B Pay Bill: Daraja's success shape (strings, BillReferenceNumber), Working debited", function()
    local res = post("b2b", { Amount = 190 })
    local r, raw = result_of(res)
    assert.are.equal("0", r.ResultCode)
    assert.are.equal("0", r.ResultType)
    local p = H.params(r)
    assert.are.equal("190.00", p.Amount)
    assert.are.equal("KES", p.Currency)
    assert.are.equal("", p.DebitPartyCharges)
    assert.matches("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d$", p.TransCompletedTime)
    assert.are.equal("Working Account|KES|499810.00|499810.00|0.00|0.00", p.DebitPartyAffectedAccountBalance)
    assert.are.equal("{Amount={CurrencyCode=KES, MinimumAmount=49981000, BasicAmount=499810.00}}",
      p.InitiatorAccountCurrentBalance)
    assert.matches('"Key":"BillReferenceNumber","Value":"353353"', raw, 1, true)
    assert.are.equal(49981000, ctx.s:stats().balance.working * 100)
  end)

  it("B2B Buy Goods and Daraja's own 'Command ID' spelling", function()
    local res = post("b2b", { CommandID = false, ["Command ID"] = "BusinessBuyGoods", AccountReference = false })
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("0", result_of(res).ResultCode)
  end)

  it("B2B: the receiving shortcode's scenario and a short Working balance fail in the result", function()
    local res = post("b2b", { PartyB = "600001" })
    local r = result_of(res)
    assert.are.equal(1, r.ResultCode)
    assert.are.equal("BOCompletedTime", r.ResultParameters.ResultParameter.Key)
    ctx.receiver.received = {}
    r = result_of(post("b2b", { Amount = "600000" }))
    assert.are.equal(1, r.ResultCode)
  end)

  it("Top Up: BusinessPayToBulk moves Working to Utility", function()
    local r = result_of(post("b2c_top_up", { Amount = "1000" }))
    assert.are.equal("0", r.ResultCode)
    local st = ctx.s:stats()
    assert.are.equal(1001000, st.balance.utility)
    assert.are.equal(499000, st.balance.working)
    assert.are.equal("b2cTopUp", st.payouts[1].api)
  end)

  it("Reversal: reverses once (R000001 after), refuses a B2C payout's receipt (R000002)", function()
    local r, raw = result_of(post("reversal", { Amount = 100 }))
    assert.are.equal(0, r.ResultCode)
    local p = H.params(r)
    assert.are.equal("PDU91HIVIT", p.OriginalTransactionID)
    assert.are.equal(100, p.Amount)
    assert.matches("^Utility Account|KES|", p.DebitAccountBalance)
    assert.matches("^603021 %- ", p.DebitPartyPublicName)
    assert.matches('"Key":"TransCompletedTime","Value":%d%d%d%d%d%d%d%d%d%d%d%d%d%d}', raw)
    ctx.receiver.received = {}
    r = result_of(post("reversal"))
    assert.are.equal("R000001", r.ResultCode)
    assert.are.equal("The transaction has already been reversed.", r.ResultDesc)
    -- a B2C payout's receipt: Daraja reverses those only on the M-PESA portal
    ctx.receiver.received = {}
    H.post(ctx.s, H.PAY, H.payment(ctx.s, ctx.receiver, ctx.credential), ctx.token)
    local receipt = ctx.receiver:wait(1, 3)[1].body.Result.TransactionID
    ctx.receiver.received = {}
    r = result_of(post("reversal", { TransactionID = receipt }))
    assert.are.equal("R000002", r.ResultCode)
    assert.are.equal("The OriginalTransactionID is invalid.", r.ResultDesc)
  end)

  it("a wrong credential is acknowledged and fails with 2001, as for B2C", function()
    local wrong = ctx.s:credential("not the password")
    for _, name in ipairs({ "b2pochi", "b2b", "reversal" }) do
      ctx.receiver.received = {}
      local r = result_of(post(name, { SecurityCredential = wrong }))
      assert.are.equal(2001, r.ResultCode, name)
    end
  end)
end)
