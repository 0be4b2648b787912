-- POST /mpesa/accountbalance/v1/query: the shortcode's accounts, in a
-- result callback.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local results = require("b2c.sim.results")
local query = require("b2c.sim.query")
local scenarios = require("b2c.sim.scenarios")
local op = require("b2c.operations.account_balance")

local kv = results.kv

-- Daraja's AccountBalance text: name|currency|amounts, joined by "&".
local function balance_text(gw)
  local function account(name, cents)
    local m = json.encode(json.money(cents))
    return string.format("%s|KES|%s|%s|0.00|0.00", name, m, m)
  end
  return table.concat({
    account("Working Account", gw.working),
    account("Float Account", 0),
    account("Utility Account", gw.utility),
    account("Charges Paid Account", gw.charges),
    account("Organization Settlement Account", 0),
  }, "&")
end

local function account_balance(gw, body)
  local bad = query.check(body, op)
  if bad then
    return reply.bad_field(bad)
  end
  local q = query.new(gw, "accountbalance", body)
  local reference = kv("QueueTimeoutURL", results.internal_url(gw, "abresults"))
  local result
  if not q.credentialValid then
    q.resultCode = 2001
    result = query.failure(q, 2001, scenarios.DESC[2001], reference)
  else
    q.resultCode = 0
    result = json.encode(json.object({ { "Result", json.object({
      { "ResultType", "0" },
      { "ResultCode", "0" },
      { "ResultDesc", "The service request is processed successfully" },
      { "OriginatorConversationID", q.ocid },
      { "ConversationID", q.conversationId },
      { "TransactionID", util.placeholder_receipt() },
      { "ResultParameters", json.object({ { "ResultParameter", json.array({
        kv("AccountBalance", balance_text(gw)),
        kv("BOCompletedTime", util.eat_date("%Y%m%d%H%M%S")),
      }) } }) },
      { "ReferenceData", json.object({ { "ReferenceItem", reference } }) },
    }) } }))
  end
  query.deliver(gw, q, body, result)
  return query.ack(q)
end

return {
  paths = { op.path },
  method = "POST",
  api = true,
  handle = function(gw, _, body)
    return account_balance(gw, body)
  end,
}
