-- Account Balance: mpesa.accountBalance.query{ ... }. The balances arrive
-- by callback at resultUrl (b2c.parseAccountBalance reads them).
local params = require("b2c.params")

local op = {
  namespace = "accountBalance",
  verbs = { "query" },
  path = "/mpesa/accountbalance/v1/query",
  movesMoney = false,
  ocidField = nil, -- Daraja makes the query's own OriginatorConversationID
  label = "query",
  fields = {
    { "remarks", params.remarks_or("Account balance"), fallback = true },
    { "resultUrl", params.result_url, fallback = true },
    { "queueTimeOutUrl", params.timeout_url, fallback = true },
  },
}

local IDENTIFIER_SHORTCODE = "4"

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
  local v, err = params.check(client, p, op)
  if not v then return nil, err end
  return {
    Initiator = client.initiatorName,
    CommandID = "AccountBalance",
    PartyA = client.shortCode,
    IdentifierType = IDENTIFIER_SHORTCODE,
    Remarks = v.remarks,
    ResultURL = v.resultUrl,
    QueueTimeOutURL = v.queueTimeOutUrl,
  }
end

return op
