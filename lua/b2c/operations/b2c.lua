-- B2C v3 payment: mpesa.b2c.send / start / sendBatch. The checks of every
-- payout field and the Daraja request body.
local params = require("b2c.params")

local op = {
  namespace = "b2c",
  verbs = { "send", "start", "sendBatch" },
  path = "/mpesa/b2c/v3/paymentrequest",
  movesMoney = true,
  ocidField = "OriginatorConversationID",
  label = "payout",
  fields = {
    { "commandId", params.command, fallback = true, wire = "CommandID" },
    { "recipientPhone", params.phone, wire = "PartyB" },
    { "amount", params.client_amount, wire = "Amount" },
    { "remarks", params.remarks, wire = "Remarks" },
    { "occasion", params.sentence, optional = true, wire = "Occasion" },
    { "resultUrl", params.result_url, fallback = true, wire = "ResultURL" },
    { "queueTimeOutUrl", params.timeout_url, fallback = true, wire = "QueueTimeOutURL" },
    { "originatorConversationId", params.conversation_id, optional = true,
      wire = "OriginatorConversationID" },
  },
  -- Daraja's request rules (b2c.wire), as the simulator checks them.
  wire = {
    { "OriginatorConversationID", "ocid" },
    { "InitiatorName", "name" },
    { "SecurityCredential", "credential" },
    { "CommandID", "values", values = { "BusinessPayment", "SalaryPayment", "PromotionPayment" } },
    { "Amount", "amount" },
    { "PartyA", "shortcode" },
    { "PartyB", "msisdn" },
    { "Remarks", "text", min = 2, max = 100 },
    { "QueueTimeOutURL", "url" },
    { "ResultURL", "url" },
    -- the SDK sends Occasion; Daraja's own sample spells Occassion
    { "Occasion", "text", min = 0, max = 100, optional = true },
    { "Occassion", "text", min = 0, max = 100, optional = true },
  },
  result = {
    title = "B2C payment result",
    parameters = { "TransactionAmount", "TransactionReceipt", "ReceiverPartyPublicName",
      "TransactionCompletedDateTime", "B2CUtilityAccountAvailableFunds",
      "B2CWorkingAccountAvailableFunds", "B2CRecipientIsRegisteredCustomer",
      "B2CChargesPaidAccountAvailableFunds" },
  },
}

-- op.build(client, p[, ocid]) -> the request body without SecurityCredential
-- (the core adds it) and the caller's reference, or nil, err. ocid: the
-- OriginatorConversationID to use when none is given in p (a fresh UUID when nil).
-- The reference is the caller's own (a row id...): kept, never sent.
function op.build(client, p, ocid)
  local body = { InitiatorName = client.initiatorName, PartyA = client.shortCode }
  local ok, reference = params.check(client, p, op, body)
  if not ok then return nil, reference end
  body.OriginatorConversationID = body.OriginatorConversationID or ocid or require("b2c.core").uuid()
  return body, reference
end

return op
