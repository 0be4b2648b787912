-- B2C v3 payment: mpesa.b2c.send / start / sendBatch. The checks of every
-- payout field and the Daraja request body.
local core = require("b2c.core")
local errors = require("b2c.errors")
local fields = require("b2c.fields")

local op = {
  namespace = "b2c",
  verbs = { "send", "start", "sendBatch" },
  path = "/mpesa/b2c/v3/paymentrequest",
  movesMoney = true,
  ocidField = "OriginatorConversationID",
  label = "payout",
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

local FIELDS = {
  recipientPhone = true, amount = true, resultUrl = true, queueTimeOutUrl = true, remarks = true,
  occasion = true, commandId = true, originatorConversationId = true, reference = true,
}

-- op.build(client, p[, ocid]) -> the request body without SecurityCredential
-- (the core adds it) and the caller's reference, or nil, err. ocid: the
-- OriginatorConversationID to use when none is given in p (a fresh UUID when nil).
-- The reference is the caller's own (a row id...): kept, never sent.
function op.build(client, p, ocid)
  local err = fields.unknown_field(p, FIELDS, "send")
  if err then return nil, err end
  local reference, rule = fields.reference(p.reference)
  if rule then return nil, errors.validation("reference", rule) end
  local command
  command, rule = fields.command(p.commandId or "BusinessPayment")
  if not command then return nil, errors.validation("commandId", rule) end
  local phone
  phone, rule = fields.phone(p.recipientPhone)
  if not phone then return nil, errors.validation("recipientPhone", rule) end
  local amount
  amount, rule = fields.amount(p.amount, client.minAmount, client.maxAmount)
  if not amount then return nil, errors.validation("amount", rule) end
  if p.remarks == nil then return nil, errors.validation("remarks", "is required (2-100 characters)") end
  local remarks
  remarks, rule = fields.text(p.remarks, 2, 100)
  if not remarks then return nil, errors.validation("remarks", rule) end
  local occasion = p.occasion
  if occasion ~= nil then
    occasion, rule = fields.text(occasion, 1, 100)
    if not occasion then return nil, errors.validation("occasion", rule) end
  end
  local https = client.environment == "production"
  local result_url, timeout_url
  result_url, rule = fields.callback_url(p.resultUrl, client.resultUrl, https)
  if not result_url then return nil, errors.validation("resultUrl", rule) end
  timeout_url, rule = fields.callback_url(p.queueTimeOutUrl, client.queueTimeOutUrl, https)
  if not timeout_url then return nil, errors.validation("queueTimeOutUrl", rule) end
  local id = p.originatorConversationId
  if id ~= nil then
    id, rule = fields.conversation_id(id)
    if not id then return nil, errors.validation("originatorConversationId", rule) end
  else
    id = ocid or core.uuid()
  end
  return {
    InitiatorName = client.initiatorName,
    PartyA = client.shortCode,
    CommandID = command,
    PartyB = phone,
    Amount = amount,
    Remarks = remarks,
    Occasion = occasion,
    ResultURL = result_url,
    QueueTimeOutURL = timeout_url,
    OriginatorConversationID = id,
  }, reference
end

return op
