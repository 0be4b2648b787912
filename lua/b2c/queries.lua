-- The reconciliation queries of a client:
--   mpesa.transactionStatus.query{ originatorConversationId | transactionId, ... }
--   mpesa.accountBalance.query{ ... }
-- Checked like a send (unknown fields refused, every rule before any I/O),
-- sent through gateway.call (token, one retry on an invalid token, error
-- objects). Both answers arrive by callback at resultUrl.
local errors = require("b2c.errors")
local gateway = require("b2c.gateway")
local json = require("b2c.json")
local validate = require("b2c.validate")

local queries = {}

local STATUS_PATH = "/mpesa/transactionstatus/v1/query"
local BALANCE_PATH = "/mpesa/accountbalance/v1/query"
local IDENTIFIER_SHORTCODE = "4"

local STATUS_FIELDS = {
  originatorConversationId = true, transactionId = true, resultUrl = true, queueTimeOutUrl = true,
  remarks = true, occasion = true,
}
local BALANCE_FIELDS = { resultUrl = true, queueTimeOutUrl = true, remarks = true }

-- M-Pesa receipts: letters and digits (10 in practice, e.g. SG632NMUAB).
local function receipt(value)
  if type(value) ~= "string" or not value:match("^%w+$") or #value > 32 then
    return nil, "must be an M-Pesa receipt: 1-32 letters and digits (e.g. SG632NMUAB)"
  end
  return value
end

-- Fields every query has: Initiator, PartyA, IdentifierType, Remarks, the
-- two URLs. Returns the body or nil, err.
local function common(client, p, command, default_remarks)
  local body = {
    Initiator = client.initiatorName,
    CommandID = command,
    PartyA = client.shortCode,
    IdentifierType = IDENTIFIER_SHORTCODE,
  }
  local remarks, rule = validate.text(p.remarks == nil and default_remarks or p.remarks, 2, 100)
  if not remarks then return nil, errors.validation("remarks", rule) end
  body.Remarks = remarks
  local https = client.environment == "production"
  for _, f in ipairs({ { "resultUrl", "ResultURL" }, { "queueTimeOutUrl", "QueueTimeOutURL" } }) do
    local url
    url, rule = validate.callback_url(p[f[1]], client[f[1]], https)
    if not url then return nil, errors.validation(f[1], rule) end
    body[f[2]] = url
  end
  return body
end

local function status_body(client, p)
  local err = validate.unknown_field(p, STATUS_FIELDS, "transactionStatus.query")
  if err then return nil, err end
  if p.originatorConversationId == nil and p.transactionId == nil then
    return nil, errors.validation("originatorConversationId",
      "give originatorConversationId (the payout's) or transactionId (its receipt)")
  end
  local body
  body, err = common(client, p, "TransactionStatusQuery", "Transaction status")
  if not body then return nil, err end
  local rule
  if p.originatorConversationId ~= nil then
    body.OriginalConversationID, rule = validate.conversation_id(p.originatorConversationId)
    if not body.OriginalConversationID then
      return nil, errors.validation("originatorConversationId", rule)
    end
  end
  if p.transactionId ~= nil then
    body.TransactionID, rule = receipt(p.transactionId)
    if not body.TransactionID then return nil, errors.validation("transactionId", rule) end
  end
  if p.occasion ~= nil then
    body.Occasion, rule = validate.text(p.occasion, 1, 100)
    if not body.Occasion then return nil, errors.validation("occasion", rule) end
  end
  return body
end

local function balance_body(client, p)
  local err = validate.unknown_field(p, BALANCE_FIELDS, "accountBalance.query")
  if err then return nil, err end
  return common(client, p, "AccountBalance", "Account balance")
end

local function run(client, path, body)
  -- Queries move no money: ctx.payout = false (a transport failure is
  -- reported as safe to try again). The SDK itself still sends only once.
  return gateway.call(client.core, path, json.encode(body),
    { payout = false, shared = client.sharedToken })
end

-- mpesa.x.query{...} as documented; mpesa.x:query{...} works too.
local function namespace(client, name, build, path)
  local ns = {}
  ns.query = function(a, b)
    if a == ns then a = b end
    if type(a) ~= "table" then
      error("mpesa." .. name .. ".query: expected a table of fields, got " .. type(a), 2)
    end
    local body, err = build(client, a)
    if not body then return nil, err end
    return run(client, path, body)
  end
  return ns
end

-- Adds mpesa.transactionStatus and mpesa.accountBalance to a client.
function queries.attach(client)
  client.transactionStatus = namespace(client, "transactionStatus", status_body, STATUS_PATH)
  client.accountBalance = namespace(client, "accountBalance", balance_body, BALANCE_PATH)
  return client
end

return queries
