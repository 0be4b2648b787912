-- op.build of the operations added in issue 12 (B2Pochi, B2C Account Top
-- Up, B2B, Reversal): every caller field's rule, unknown fields, the
-- caller's reference kept and never sent, whole shillings never rounded,
-- and every body built meets Daraja's request rules (op.wire, which the
-- simulator checks requests with).
local wire = require("b2c.wire")

local CLIENT = {
  environment = "sandbox", shortCode = "600992", initiatorName = "testapi",
  resultUrl = "https://example.com/result", queueTimeOutUrl = "https://example.com/timeout",
  minAmount = 10, maxAmount = 250000,
}

local function with(base, over)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(over or {}) do
    if v == false then t[k] = nil else t[k] = v end
  end
  return t
end

local OPS = {
  b2pochi = { good = { recipientPhone = "0708374149", amount = 500, remarks = "Pochi payout" } },
  b2c_top_up = { good = { receiverShortCode = "600000", amount = 1000000, remarks = "Salary float" } },
  b2b = { good = { commandId = "BusinessPayBill", receiverShortCode = "888880",
    accountReference = "ACC#03929/4yu", amount = 239, remarks = "OK" } },
  reversal = { good = { transactionId = "PDU91HIVIT", amount = 200, remarks = "Payment reversal" } },
}

local function build(name, p, ocid)
  return require("b2c.operations." .. name).build(CLIENT, p, ocid)
end

local function refused(name, field, over, rule)
  local body, err = build(name, with(OPS[name].good, over))
  assert.is_nil(body, field)
  assert.are.equal("validation", err.kind)
  assert.are.equal(field, err.field)
  if rule then assert.matches(rule, err.message, 1, true) end
  return err
end

describe("operations added in issue 12", function()
  for name, case in pairs(OPS) do
    describe(name, function()
      local op = require("b2c.operations." .. name)

      it("builds a body that meets Daraja's request rules (op.wire)", function()
        local body, reference = build(name, case.good)
        assert.is_table(body)
        assert.is_nil(reference)
        assert.is_nil(body.SecurityCredential) -- the core adds it
        local creds = with(body, { SecurityCredential = "QUJD" })
        assert.is_nil(wire.check(creds, op.wire))
        -- and every field sent is one op.wire declares
        local declared = {}
        for _, e in ipairs(op.wire) do declared[e[1]] = true end
        for k in pairs(body) do assert.is_true(declared[k], k) end
      end)

      it("refuses an unknown field, naming it", function()
        local err = refused(name, "recipientPhon", { recipientPhon = "0708374149" })
        assert.matches("is not a mpesa." .. op.namespace .. "." .. op.verbs[1] .. " field", err.message, 1, true)
      end)

      it("keeps the caller's reference and never sends it", function()
        local body, reference = build(name, with(case.good, { reference = "row-17" }))
        assert.are.equal("row-17", reference)
        for _, v in pairs(body) do assert.are_not.equal("row-17", v) end
        refused(name, "reference", { reference = "a\nb" })
      end)

      it("takes whole shillings only, never rounded", function()
        refused(name, "amount", { amount = 10.5 }, "whole number")
        refused(name, "amount", { amount = "12.50" }, "whole number")
        refused(name, "amount", { amount = false }, "is required")
        refused(name, "amount", { amount = 0 })
        local body = build(name, with(case.good, { amount = "300" }))
        assert.are.equal(300, body.Amount)
      end)

      it("needs remarks, checks their length and text", function()
        refused(name, "remarks", { remarks = false }, "is required")
        refused(name, "remarks", { remarks = string.rep("r", 101) }, "100")
        refused(name, "remarks", { remarks = "bad\0text" })
      end)

      it("checks the callback URLs, falling back to b2c.new's", function()
        refused(name, "resultUrl", { resultUrl = "ftp://x" })
        refused(name, "queueTimeOutUrl", { queueTimeOutUrl = "not a url" })
        local body = build(name, case.good)
        assert.are.equal(CLIENT.resultUrl, body.ResultURL)
        assert.are.equal(CLIENT.queueTimeOutUrl, body.QueueTimeOutURL)
        local bare = with(CLIENT, { resultUrl = false })
        local _, err = op.build(bare, case.good)
        assert.are.equal("resultUrl", err.field)
        local prod = with(CLIENT, { environment = "production" })
        _, err = op.build(prod, with(case.good, { resultUrl = "http://example.com/r" }))
        assert.are.equal("resultUrl", err.field)
        assert.matches("https", err.message)
      end)

      it("declares what the engine and the client need", function()
        assert.are.equal(name == "b2c_top_up" and "b2cTopUp" or name, op.namespace)
        assert.is_true(op.movesMoney)
        assert.matches("^/mpesa/", op.path)
        assert.is_string(op.label)
        assert.are.equal(3, #op.verbs)
        assert.are.equal("sendBatch", op.verbs[3])
        assert.is_string(op.result.title)
        assert.is_table(op.result.parameters)
      end)
    end)
  end

  describe("b2pochi", function()
    it("is B2C v3's body with CommandID BusinessPayToPochi, Daraja's spellings", function()
      local body = build("b2pochi", with(OPS.b2pochi.good, { occasion = "Xmas" }), "given-ocid")
      assert.are.same({
        OriginatorConversationID = "given-ocid", InitiatorName = "testapi",
        CommandID = "BusinessPayToPochi", Amount = 500, PartyA = "600992", PartyB = "254708374149",
        Remarks = "Pochi payout", QueueTimeOutURL = CLIENT.queueTimeOutUrl,
        ResultURL = CLIENT.resultUrl, Occassion = "Xmas",
      }, body)
    end)

    it("uses the caller's OriginatorConversationID first, else a fresh one", function()
      local op = require("b2c.operations.b2pochi")
      assert.are.equal("OriginatorConversationID", op.ocidField)
      local body = build("b2pochi", with(OPS.b2pochi.good, { originatorConversationId = "mine-1" }), "x")
      assert.are.equal("mine-1", body.OriginatorConversationID)
      local a, b = build("b2pochi", OPS.b2pochi.good), build("b2pochi", OPS.b2pochi.good)
      assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", a.OriginatorConversationID)
      assert.are_not.equal(a.OriginatorConversationID, b.OriginatorConversationID)
      refused("b2pochi", "originatorConversationId", { originatorConversationId = "bad id!" })
    end)

    it("checks the phone and the client's amount limits", function()
      refused("b2pochi", "recipientPhone", { recipientPhone = "0208374149" }, "Safaricom")
      refused("b2pochi", "recipientPhone", { recipientPhone = false }, "is required")
      refused("b2pochi", "amount", { amount = 9 }, "between 10 and 250000")
      refused("b2pochi", "amount", { amount = 250001 })
      refused("b2pochi", "occasion", { occasion = string.rep("o", 101) })
      refused("b2pochi", "commandId", { commandId = "BusinessPayment" }, "is not a")
    end)
  end)

  describe("b2cTopUp", function()
    it("moves money to a B2C shortcode with BusinessPayToBulk, identifier types 4", function()
      local body = build("b2c_top_up", with(OPS.b2c_top_up.good,
        { accountReference = "353353", requester = "254708374149" }))
      assert.are.same({
        Initiator = "testapi", CommandID = "BusinessPayToBulk", SenderIdentifierType = "4",
        RecieverIdentifierType = "4", Amount = 1000000, PartyA = "600992", PartyB = "600000",
        AccountReference = "353353", Requester = "254708374149", Remarks = "Salary float",
        QueueTimeOutURL = CLIENT.queueTimeOutUrl, ResultURL = CLIENT.resultUrl,
      }, body)
      assert.is_nil(require("b2c.operations.b2c_top_up").ocidField)
    end)

    it("is not bound by B2C's per-payout limits, and checks its fields", function()
      assert.are.equal(5000000, build("b2c_top_up", with(OPS.b2c_top_up.good, { amount = 5000000 })).Amount)
      local body = build("b2c_top_up", with(OPS.b2c_top_up.good, { receiverShortCode = 600000,
        accountReference = 353353 }))
      assert.are.equal("600000", body.PartyB)
      assert.are.equal("353353", body.AccountReference)
      refused("b2c_top_up", "receiverShortCode", { receiverShortCode = 600000.5 }, "5-10 digits")
      refused("b2c_top_up", "receiverShortCode", { receiverShortCode = "12" }, "5-10 digits")
      refused("b2c_top_up", "receiverShortCode", { receiverShortCode = false }, "is required")
      refused("b2c_top_up", "accountReference", { accountReference = string.rep("a", 14) })
      refused("b2c_top_up", "requester", { requester = "12345" })
    end)

    it("refuses an OriginatorConversationID: Daraja makes it", function()
      refused("b2c_top_up", "originatorConversationId", { originatorConversationId = "x" },
        "Daraja makes the OriginatorConversationID")
    end)
  end)

  describe("b2b", function()
    it("pays a pay bill with its account number", function()
      local body = build("b2b", OPS.b2b.good)
      assert.are.equal("BusinessPayBill", body.CommandID)
      assert.are.equal("888880", body.PartyB)
      assert.are.equal("ACC#03929/4yu", body.AccountReference)
      assert.are.equal("4", body.SenderIdentifierType)
      assert.are.equal("4", body.RecieverIdentifierType)
      refused("b2b", "accountReference", { accountReference = false }, "is required for BusinessPayBill")
    end)

    it("pays a till with BusinessBuyGoods, no account number needed", function()
      local body = build("b2b", with(OPS.b2b.good, { commandId = "BusinessBuyGoods", accountReference = false }))
      assert.are.equal("BusinessBuyGoods", body.CommandID)
      assert.is_nil(body.AccountReference)
    end)

    it("checks commandId and the other fields", function()
      refused("b2b", "commandId", { commandId = "BusinessPayToBulk" }, "BusinessPayBill")
      refused("b2b", "commandId", { commandId = false }, "is required")
      refused("b2b", "receiverShortCode", { receiverShortCode = "12ab34" })
      refused("b2b", "occasion", { occasion = "" })
      refused("b2b", "originatorConversationId", { originatorConversationId = "x" })
    end)
  end)

  describe("reversal", function()
    it("reverses a receipt received at this client's shortcode, type 11", function()
      local body = build("reversal", OPS.reversal.good)
      assert.are.same({
        Initiator = "testapi", CommandID = "TransactionReversal", TransactionID = "PDU91HIVIT",
        Amount = 200, ReceiverParty = "600992", RecieverIdentifierType = "11",
        Remarks = "Payment reversal", QueueTimeOutURL = CLIENT.queueTimeOutUrl,
        ResultURL = CLIENT.resultUrl,
      }, body)
      body = build("reversal", with(OPS.reversal.good, { receiverShortCode = "603021" }))
      assert.are.equal("603021", body.ReceiverParty)
    end)

    it("has the verb request, and checks the receipt", function()
      assert.are.equal("request", require("b2c.operations.reversal").verbs[1])
      refused("reversal", "transactionId", { transactionId = false }, "is required")
      refused("reversal", "transactionId", { transactionId = "PDU 91HIVIT" }, "receipt")
      refused("reversal", "remarks", { remarks = "x" }, "2 to 100")
    end)

    it("refuses fields Daraja's reversal does not have", function()
      refused("reversal", "occasion", { occasion = "x" }, "no Occasion")
      refused("reversal", "originatorConversationId", { originatorConversationId = "x" },
        "Daraja makes the OriginatorConversationID of a reversal")
    end)
  end)
end)

describe("b2c.wire", function()
  local W = {
    { "CommandID", "values", values = { "X" }, alias = "Command ID" },
    { "Amount", "amount" },
    { "Occassion", "text", max = 3, optional = true },
  }

  it("names the first field that breaks its rule", function()
    assert.is_nil(wire.check({ CommandID = "X", Amount = 10 }, W))
    assert.is_nil(wire.check({ ["Command ID"] = "X", Amount = "10" }, W))
    assert.are.equal("CommandID", wire.check({ CommandID = "Y", Amount = 10 }, W))
    assert.are.equal("Amount", wire.check({ CommandID = "X", Amount = 10.5 }, W))
    assert.are.equal("Amount", wire.check({ CommandID = "X", Amount = "0" }, W))
    assert.are.equal("Amount", wire.check({ CommandID = "X" }, W))
    assert.are.equal("Occassion", wire.check({ CommandID = "X", Amount = 1, Occassion = "long" }, W))
  end)
end)

describe("the operation registry", function()
  local registry = require("b2c.operations")
  local SAMPLES = {
    b2c = { recipientPhone = "0708374149", amount = 500, remarks = "Payout", occasion = "March" },
    transactionStatus = { transactionId = "SG632NMUAB", originatorConversationId = "o-1", occasion = "x" },
    accountBalance = {},
    b2pochi = OPS.b2pochi.good, b2cTopUp = OPS.b2c_top_up.good, b2b = OPS.b2b.good,
    reversal = OPS.reversal.good,
  }

  it("lists every operation once, each with Daraja's rules its bodies meet", function()
    local seen = {}
    for _, op in ipairs(registry.list) do
      assert.is_nil(seen[op.namespace], op.namespace)
      seen[op.namespace] = true
      assert.are.equal(op, registry.get(op.namespace))
      local body = assert(op.build(CLIENT, SAMPLES[op.namespace], "ocid-1"))
      body.SecurityCredential = "QUJD"
      assert.is_nil(wire.check(body, op.wire), op.namespace)
    end
    for name in pairs(SAMPLES) do assert.is_true(seen[name], name) end
  end)
end)
