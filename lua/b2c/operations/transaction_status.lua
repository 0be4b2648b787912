-- Transaction Status: mpesa.transactionStatus.query{ originatorConversationId
-- | transactionId, ... }. The answer arrives by callback at resultUrl.
local errors = require("b2c.errors")
local fields = require("b2c.fields")

local op = {
  namespace = "transactionStatus",
  verbs = { "query" },
  path = "/mpesa/transactionstatus/v1/query",
  movesMoney = false,
  ocidField = nil, -- Daraja makes the query's own OriginatorConversationID
  label = "query",
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
local FIELDS = {
  originatorConversationId = true, transactionId = true, resultUrl = true, queueTimeOutUrl = true,
  remarks = true, occasion = true,
}

function op.build(client, p)
  local err = fields.unknown_field(p, FIELDS, "transactionStatus.query")
  if err then return nil, err end
  if p.originatorConversationId == nil and p.transactionId == nil then
    return nil, errors.validation("originatorConversationId",
      "give originatorConversationId (the payout's) or transactionId (its receipt)")
  end
  local remarks, rule = fields.text(p.remarks == nil and "Transaction status" or p.remarks, 2, 100)
  if not remarks then return nil, errors.validation("remarks", rule) end
  local body = {
    Initiator = client.initiatorName,
    CommandID = "TransactionStatusQuery",
    PartyA = client.shortCode,
    IdentifierType = IDENTIFIER_SHORTCODE,
    Remarks = remarks,
  }
  body, err = fields.callback_urls(client, p, body)
  if not body then return nil, err end
  if p.originatorConversationId ~= nil then
    body.OriginalConversationID, rule = fields.conversation_id(p.originatorConversationId)
    if not body.OriginalConversationID then
      return nil, errors.validation("originatorConversationId", rule)
    end
  end
  if p.transactionId ~= nil then
    body.TransactionID, rule = fields.receipt(p.transactionId)
    if not body.TransactionID then return nil, errors.validation("transactionId", rule) end
  end
  if p.occasion ~= nil then
    body.Occasion, rule = fields.text(p.occasion, 1, 100)
    if not body.Occasion then return nil, errors.validation("occasion", rule) end
  end
  return body
end

return op
