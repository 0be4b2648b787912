-- Reversal: Daraja reverses a customer's payment INTO this client's
-- shortcode (C2B: a wrong or double payment to a pay bill or till) and
-- refunds the customer: mpesa.reversal.request{ transactionId, amount, ... }.
-- CommandID TransactionReversal; the initiator needs the "Org Reversals
-- Initiator" role.
--
-- Daraja does NOT reverse B2C (or B2Pochi) payouts through this API: its
-- B2C, B2Pochi and Reversal pages all say those are reversed by hand on the
-- M-PESA org portal. The SDK cannot tell a receipt's origin, so such a
-- request goes out and Daraja answers it in the result callback
-- (R000002, "The OriginalTransactionID is invalid"); b2c.describe says why.
--
-- Daraja makes the OriginatorConversationID (in the acknowledgement only):
-- a lost acknowledgement leaves no id to query by; the receipt being
-- reversed is the key (a second request answers R000001, already reversed).
local params = require("b2c.params")

local RECEIVER_ORGANIZATION = "11"

local op = {
  namespace = "reversal",
  verbs = { "request", "start", "sendBatch" },
  path = "/mpesa/reversal/v1/request",
  movesMoney = true,
  label = "reversal",
  fields = {
    { "transactionId", params.receipt },
    { "amount", params.shillings },
    { "receiverShortCode", params.shortcode, optional = true },
    { "remarks", params.remarks },
    { "resultUrl", params.result_url, fallback = true },
    { "queueTimeOutUrl", params.timeout_url, fallback = true },
  },
  reconcile = "Daraja makes a reversal's OriginatorConversationID, so a lost acknowledgement "
    .. "leaves no id to query by: query Transaction Status by the original receipt (a reversed "
    .. "transaction shows it); requesting it again is answered R000001 (already reversed) when "
    .. "the first one went through",
  refuses = {
    originatorConversationId = "Daraja makes the OriginatorConversationID of a reversal (it "
      .. "comes in the acknowledgement); it cannot be given",
    occasion = "Daraja's Reversal request has no Occasion field",
  },
  wire = {
    { "Initiator", "name" },
    { "SecurityCredential", "credential" },
    { "CommandID", "values", values = { "TransactionReversal" }, alias = "Command ID" },
    { "TransactionID", "receipt" },
    { "Amount", "amount" },
    { "ReceiverParty", "shortcode" },
    { "RecieverIdentifierType", "values", values = { RECEIVER_ORGANIZATION } },
    { "Remarks", "text", min = 2, max = 100 },
    { "QueueTimeOutURL", "url" },
    { "ResultURL", "url" },
  },
  result = {
    title = "Reversal result",
    parameters = { "DebitAccountBalance", "Amount", "TransCompletedTime", "OriginalTransactionID",
      "Charge", "CreditPartyPublicName", "DebitPartyPublicName" },
  },
}

-- ReceiverParty: the shortcode that received the payment, this client's
-- unless given.
function op.build(client, p)
  local v, reference = params.check(client, p, op)
  if not v then return nil, reference end
  return {
    Initiator = client.initiatorName,
    CommandID = "TransactionReversal",
    TransactionID = v.transactionId,
    Amount = v.amount,
    ReceiverParty = v.receiverShortCode or client.shortCode,
    RecieverIdentifierType = RECEIVER_ORGANIZATION,
    Remarks = v.remarks,
    QueueTimeOutURL = v.queueTimeOutUrl,
    ResultURL = v.resultUrl,
  }, reference
end

return op
