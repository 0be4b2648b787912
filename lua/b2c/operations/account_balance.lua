-- Account Balance: mpesa.accountBalance.query{ ... }. The balances arrive
-- by callback at resultUrl (b2c.parseAccountBalance reads them).
local errors = require("b2c.errors")
local fields = require("b2c.fields")

local op = {
  namespace = "accountBalance",
  verbs = { "query" },
  path = "/mpesa/accountbalance/v1/query",
  movesMoney = false,
  ocidField = nil, -- Daraja makes the query's own OriginatorConversationID
  label = "query",
}

local IDENTIFIER_SHORTCODE = "4"
local FIELDS = { resultUrl = true, queueTimeOutUrl = true, remarks = true }

-- Daraja's request rules (b2c.wire), as the simulator checks them.
op.wire = {
  { "Initiator", "name" },
  { "SecurityCredential", "credential" },
  { "CommandID", "values", values = { "AccountBalance" }, alias = "Command ID" },
  { "PartyA", "shortcode" },
  { "IdentifierType", "values", values = { "1", "2", IDENTIFIER_SHORTCODE } },
  { "Remarks", "text", min = 2, max = 100 },
  { "QueueTimeOutURL", "url" },
  { "ResultURL", "url" },
  { "Occasion", "text", min = 0, max = 100, optional = true },
}

function op.build(client, p)
  local err = fields.unknown_field(p, FIELDS, "accountBalance.query")
  if err then return nil, err end
  local remarks, rule = fields.text(p.remarks == nil and "Account balance" or p.remarks, 2, 100)
  if not remarks then return nil, errors.validation("remarks", rule) end
  return fields.callback_urls(client, p, {
    Initiator = client.initiatorName,
    CommandID = "AccountBalance",
    PartyA = client.shortCode,
    IdentifierType = IDENTIFIER_SHORTCODE,
    Remarks = remarks,
  })
end

return op
