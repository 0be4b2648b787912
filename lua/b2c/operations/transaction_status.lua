-- Transaction Status: mpesa.transactionStatus.query{ originatorConversationId
-- | transactionId, ... }. The answer arrives by callback at resultUrl.
local errors = require("b2c.errors")
local params = require("b2c.params")

local op = {
  namespace = "transactionStatus",
  verbs = { "query" },
  path = "/mpesa/transactionstatus/v1/query",
  movesMoney = false,
  ocidField = nil, -- Daraja makes the query's own OriginatorConversationID
  label = "query",
  fields = {
    { "originatorConversationId", params.conversation_id, optional = true },
    { "transactionId", params.receipt, optional = true },
    { "remarks", params.remarks_or("Transaction status"), fallback = true },
    { "occasion", params.sentence, optional = true },
    { "resultUrl", params.result_url, fallback = true },
    { "queueTimeOutUrl", params.timeout_url, fallback = true },
  },
}

local IDENTIFIER_SHORTCODE = "4"

-- Daraja's request rules (b2c.wire), as the simulator checks them; its
-- own sample spells "Command ID" and "Transaction ID".
op.wire = {
  { "Initiator", "name" },
  { "SecurityCredential", "credential" },
  { "CommandID", "values", values = { "TransactionStatusQuery" }, alias = "Command ID" },
  { "TransactionID", "receipt", unless = "OriginalConversationID", alias = "Transaction ID" },
  { "OriginalConversationID", "ocid", optional = true },
  { "PartyA", "shortcode" },
  { "IdentifierType", "values", values = { "1", "2", IDENTIFIER_SHORTCODE } },
  { "Remarks", "text", min = 2, max = 100 },
  { "QueueTimeOutURL", "url" },
  { "ResultURL", "url" },
  { "Occasion", "text", min = 0, max = 100, optional = true },
}
function op.build(client, p)
  local v, err = params.check(client, p, op)
  if not v then return nil, err end
  if v.originatorConversationId == nil and v.transactionId == nil then
    return nil, errors.validation("originatorConversationId",
      "give originatorConversationId (the payout's) or transactionId (its receipt)")
  end
  return {
    Initiator = client.initiatorName,
    CommandID = "TransactionStatusQuery",
    PartyA = client.shortCode,
    IdentifierType = IDENTIFIER_SHORTCODE,
    Remarks = v.remarks,
    OriginalConversationID = v.originatorConversationId,
    TransactionID = v.transactionId,
    Occasion = v.occasion,
    ResultURL = v.resultUrl,
    QueueTimeOutURL = v.queueTimeOutUrl,
  }
end

return op
