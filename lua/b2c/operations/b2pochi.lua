-- B2Pochi: a payout from a B2C shortcode to a customer's Pochi la Biashara
-- wallet (mpesa.b2pochi.send{...}). Daraja's B2C v3 shape with CommandID
-- BusinessPayToPochi: the caller's OriginatorConversationID is the
-- idempotency key, exactly as for B2C. Same role (ORG B2C API initiator),
-- limits and result parameters as B2C; Daraja reverses none of these
-- through its API (only on the M-PESA org portal).
local params = require("b2c.params")

local op = {
  namespace = "b2pochi",
  verbs = { "send", "start", "sendBatch" },
  path = "/mpesa/b2pochi/v1/paymentrequest",
  movesMoney = true,
  ocidField = "OriginatorConversationID",
  label = "payout",
  fields = {
    { "recipientPhone", params.phone },
    { "amount", params.client_amount },
    { "remarks", params.remarks },
    { "occasion", params.sentence, optional = true },
    { "resultUrl", params.result_url, fallback = true },
    { "queueTimeOutUrl", params.timeout_url, fallback = true },
    { "originatorConversationId", params.conversation_id, optional = true },
  },
  wire = {
    { "OriginatorConversationID", "ocid" },
    { "InitiatorName", "name" },
    { "SecurityCredential", "credential" },
    { "CommandID", "values", values = { "BusinessPayToPochi" } },
    { "Amount", "amount" },
    { "PartyA", "shortcode" },
    { "PartyB", "msisdn" },
    { "Remarks", "text", min = 2, max = 100 },
    { "QueueTimeOutURL", "url" },
    { "ResultURL", "url" },
    { "Occassion", "text", max = 100, optional = true },
  },
  -- The page reuses B2C's result samples: the same keys.
  result = {
    title = "B2Pochi payment result (B2C to a Pochi la Biashara wallet)",
    parameters = { "TransactionAmount", "TransactionReceipt", "ReceiverPartyPublicName",
      "TransactionCompletedDateTime", "B2CUtilityAccountAvailableFunds",
      "B2CWorkingAccountAvailableFunds", "B2CRecipientIsRegisteredCustomer",
      "B2CChargesPaidAccountAvailableFunds" },
  },
}

-- body, reference | nil, err. The OCID: the caller's, else `ocid`, else a
-- fresh UUID (the C core makes it; required here so the simulator can read
-- op.wire without the core).
function op.build(client, p, ocid)
  local v, reference = params.check(client, p, op)
  if not v then return nil, reference end
  return {
    OriginatorConversationID = v.originatorConversationId or ocid or require("b2c.core").uuid(),
    InitiatorName = client.initiatorName,
    CommandID = "BusinessPayToPochi",
    Amount = v.amount,
    PartyA = client.shortCode,
    PartyB = v.recipientPhone,
    Remarks = v.remarks,
    QueueTimeOutURL = v.queueTimeOutUrl,
    ResultURL = v.resultUrl,
    Occassion = v.occasion,
  }, reference
end

return op
