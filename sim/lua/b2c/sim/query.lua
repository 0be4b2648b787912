-- What the query APIs (Transaction Status, Account Balance) share: their
-- request checks (from the SDK's operation modules), the record /sim/stats lists, the acknowledgement and the
-- failed result.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local wire = require("b2c.wire")

local M = {}

--- The first bad field of a query (the SDK operation module's rules,
-- op.wire), or nil.
function M.check(body, op)
  return wire.check(body, op.wire)
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
  return reply.ack(q.ocid, q.conversationId)
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
