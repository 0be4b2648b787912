-- What the query APIs (Transaction Status, Account Balance) share: their
-- request checks, the record /sim/stats lists, the acknowledgement and the
-- failed result.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local checks = require("b2c.sim.checks")

local M = {}

local RULES = {
  "PartyA", checks.is_shortcode, "IdentifierType", checks.is_identifier_type,
}

--- The first bad field of a query whose CommandID must be `command`, or
-- nil. extra(body), when given, checks the API's own fields (after
-- CommandID, before PartyA).
function M.check(body, command, extra)
  local bad = checks.first_bad(body,
    { "Initiator", checks.initiator, "SecurityCredential", checks.is_credential })
  if bad then
    return bad
  end
  if checks.field(body, "CommandID", "Command ID") ~= command then
    return "CommandID"
  end
  bad = extra and extra(body)
  if bad then
    return bad
  end
  return checks.first_bad(body, RULES) or checks.first_bad(body, checks.CALLBACK_RULES)
end

--- A new query record (kind: transactionstatus, accountbalance).
function M.new(gw, kind, body)
  local q = {
    kind = kind,
    ocid = util.request_id(),
    conversationId = util.conversation_id(),
    resultUrl = body.ResultURL,
    credentialValid = gw.checker:matches(body.SecurityCredential, gw.config.initiatorPassword),
  }
  gw.queries[#gw.queries + 1] = q
  return q
end

function M.ack(q)
  return reply.json(200, json.object({
    { "OriginatorConversationID", q.ocid },
    { "ConversationID", q.conversationId },
    { "ResponseCode", "0" },
    { "ResponseDescription", reply.ACCEPTED },
  }))
end

--- The result callback body of a query that failed with `code`.
function M.failure(q, code, desc, reference)
  return json.encode(json.object({ { "Result", json.object({
    { "ResultType", 0 },
    { "ResultCode", code },
    { "ResultDesc", desc },
    { "OriginatorConversationID", q.ocid },
    { "ConversationID", q.conversationId },
    { "TransactionID", util.placeholder_receipt() },
    { "ReferenceData", json.object({ { "ReferenceItem", reference } }) },
  }) } }))
end

--- Schedule the result callback of query q.
function M.deliver(gw, q, body, result)
  gw.callbacks:schedule(body.ResultURL, result, gw.config.callbackDelay,
    { ocid = q.ocid, conversationId = q.conversationId, api = q.kind })
end

return M
