-- B2B: a payment from this client's shortcode (its Working/MMF account) to
-- a pay bill (CommandID BusinessPayBill, with the account number) or a till
-- (BusinessBuyGoods): mpesa.b2b.send{...}. Daraja makes the
-- OriginatorConversationID (it is in the acknowledgement only): an outcome
-- lost with the acknowledgement has no key the caller holds, and is
-- reconciled from the account statement or by Transaction Status with the
-- receipt once known.
local errors = require("b2c.errors")
local params = require("b2c.params")

local IDENTIFIER_SHORTCODE = "4"
local COMMANDS = { BusinessPayBill = true, BusinessBuyGoods = true }

local function command(v)
  if COMMANDS[v] then return v end
  return nil, "must be BusinessPayBill (to a pay bill, with accountReference) or "
    .. "BusinessBuyGoods (to a till)"
end

local op = {
  namespace = "b2b",
  verbs = { "send", "start", "sendBatch" },
  path = "/mpesa/b2b/v1/paymentrequest",
  movesMoney = true,
  label = "payment",
  fields = {
    { "commandId", command },
    { "receiverShortCode", params.shortcode },
    { "amount", params.shillings },
    { "accountReference", params.account_reference, optional = true },
    { "requester", params.phone, optional = true },
    { "remarks", params.sentence },
    { "occasion", params.sentence, optional = true },
    { "resultUrl", params.result_url, fallback = true },
    { "queueTimeOutUrl", params.timeout_url, fallback = true },
  },
  reconcile = "Daraja makes a B2B payment's OriginatorConversationID, so a lost acknowledgement "
    .. "leaves no id to query by: check the M-PESA statement (or Account Balance), and Transaction "
    .. "Status by the receipt once known, before sending it again",
  refuses = {
    originatorConversationId = "Daraja makes the OriginatorConversationID of a B2B payment (it "
      .. "comes in the acknowledgement); it cannot be given",
  },
  -- Daraja's pages: identifier types "4" only (a till too), AccountReference
  -- "up to 13 characters"; the Pay Bill sample spells "Command ID".
  wire = {
    { "Initiator", "name" },
    { "SecurityCredential", "credential" },
    { "CommandID", "values", values = { "BusinessPayBill", "BusinessBuyGoods" }, alias = "Command ID" },
    { "SenderIdentifierType", "values", values = { IDENTIFIER_SHORTCODE } },
    { "RecieverIdentifierType", "values", values = { IDENTIFIER_SHORTCODE } },
    { "Amount", "amount" },
    { "PartyA", "shortcode" },
    { "PartyB", "shortcode" },
    { "AccountReference", "text", max = 13, optional = true },
    { "Requester", "msisdn", optional = true },
    { "Remarks", "text", max = 100 },
    { "QueueTimeOutURL", "url" },
    { "ResultURL", "url" },
    { "Occassion", "text", max = 100, optional = true },
  },
  result = {
    title = "B2B result (Business Pay Bill, Buy Goods or B2C Account Top Up: their results "
      .. "look alike)",
    parameters = { "DebitAccountBalance", "Amount", "DebitPartyAffectedAccountBalance",
      "TransCompletedTime", "DebitPartyCharges", "ReceiverPartyPublicName", "Currency",
      "InitiatorAccountCurrentBalance" },
  },
}

function op.build(client, p)
  local v, reference = params.check(client, p, op)
  if not v then return nil, reference end
  if v.commandId == "BusinessPayBill" and v.accountReference == nil then
    return nil, errors.validation("accountReference",
      "is required for BusinessPayBill (the account number at the pay bill, up to 13 characters)")
  end
  return {
    Initiator = client.initiatorName,
    CommandID = v.commandId,
    SenderIdentifierType = IDENTIFIER_SHORTCODE,
    RecieverIdentifierType = IDENTIFIER_SHORTCODE,
    Amount = v.amount,
    PartyA = client.shortCode,
    PartyB = v.receiverShortCode,
    AccountReference = v.accountReference,
    Requester = v.requester,
    Remarks = v.remarks,
    QueueTimeOutURL = v.queueTimeOutUrl,
    ResultURL = v.resultUrl,
    Occassion = v.occasion,
  }, reference
end

return op
