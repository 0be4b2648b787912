-- b2c.ledger.view: a payouts row as the caller sees it (the payout every
-- public method answers with).
local M = {}

-- The columns view.of reads (not the request body).
M.COLUMNS = "id, reference, operation, ocid, conversation_id, receipt, recipient, amount, "
  .. "state, outcome, result_code, result_desc, error, attention, root_id, previous_id, created_at, "
  .. "updated_at, queries, lease_owner, lease_until"

function M.of(row)
  if not row then return nil end
  return {
    id = tonumber(row.id), reference = row.reference, operation = row.operation,
    originatorConversationId = row.ocid, conversationId = row.conversation_id,
    receipt = row.receipt, recipient = row.recipient, amount = tonumber(row.amount),
    state = row.state, outcome = row.outcome, resultCode = row.result_code,
    resultDesc = row.result_desc, error = row.error, attention = row.attention,
    firstId = tonumber(row.root_id or row.id), previousId = tonumber(row.previous_id),
    createdAt = tonumber(row.created_at), updatedAt = tonumber(row.updated_at),
    queries = tonumber(row.queries), leaseOwner = row.lease_owner,
    leaseUntil = tonumber(row.lease_until),
  }
end

return M
