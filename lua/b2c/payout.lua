-- One payout: the checks of every field, and the Daraja request body.
-- Used by send, start and sendBatch alike.
local core = require("b2c.core")
local errors = require("b2c.errors")
local validate = require("b2c.validate")

local payout = {}

local FIELDS = {
  recipientPhone = true, amount = true, resultUrl = true, queueTimeOutUrl = true, remarks = true,
  occasion = true, commandId = true, originatorConversationId = true,
}

local URL_FIELDS = { { "resultUrl", "ResultURL" }, { "queueTimeOutUrl", "QueueTimeOutURL" } }

-- payout.body(client, p[, ocid]) -> the request body without SecurityCredential
-- (the core adds it), or nil, err. ocid: the OriginatorConversationID to use
-- when none is given in p (a fresh UUID when nil).
function payout.body(client, p, ocid)
  local err = validate.unknown_field(p, FIELDS, "send")
  if err then return nil, err end
  local function check(field, v, rule)
    if v == nil then err = errors.validation(field, rule) end
    return v
  end
  local https = client.environment == "production"
  local body = {
    InitiatorName = client.initiatorName,
    PartyA = client.shortCode,
    CommandID = check("commandId", validate.command(p.commandId or "BusinessPayment")),
  }
  body.PartyB = check("recipientPhone", validate.phone(p.recipientPhone))
  if err then return nil, err end
  body.Amount = check("amount", validate.amount(p.amount, client.minAmount, client.maxAmount))
  if err then return nil, err end
  if p.remarks == nil then return nil, errors.validation("remarks", "is required (2-100 characters)") end
  body.Remarks = check("remarks", validate.text(p.remarks, 2, 100))
  if err then return nil, err end
  if p.occasion ~= nil then
    body.Occasion = check("occasion", validate.text(p.occasion, 1, 100))
    if err then return nil, err end
  end
  for _, f in ipairs(URL_FIELDS) do
    local v = p[f[1]]
    if v == nil then
      -- the client's default, checked once by b2c.new
      v = client[f[1]]
      if v == nil then return nil, errors.validation(f[1], "is required (here or in b2c.new)") end
    else
      v = check(f[1], validate.url(v, https))
      if err then return nil, err end
    end
    body[f[2]] = v
  end
  if p.originatorConversationId ~= nil then
    body.OriginatorConversationID = check("originatorConversationId",
      validate.conversation_id(p.originatorConversationId))
    if err then return nil, err end
  else
    body.OriginatorConversationID = ocid or core.uuid()
  end
  return body
end

return payout
