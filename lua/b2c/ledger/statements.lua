-- b2c.ledger.statements: statements as data ({ sql, values, n }) that the
-- ledger runs alone or several in one transaction (store:script, one round
-- trip on PostgreSQL): new payouts stored as submitted, and the outcomes
-- of their sends.
local outcome = require("b2c.outcome")

local M = {}

-- n placeholders for an IN (...) list.
function M.marks(n)
  return string.rep("?, ", n - 1) .. "?"
end

-- New payouts (prepared, each with its OCID) stored straight as submitted;
-- a reference another worker stored meanwhile is left out.
function M.insert_submitted(list)
  local values, n, t = {}, 0, os.time()
  for _, p in ipairs(list) do
    for _, v in ipairs({ p.reference or false, p.operation, p.ocid, p.recipient, p.amount,
      p.request, t, t }) do
      n = n + 1
      values[n] = v or nil
    end
  end
  return { "INSERT INTO payouts (reference, operation, ocid, recipient, amount, request, state, "
    .. "created_at, updated_at) VALUES " .. string.rep("(?, ?, ?, ?, ?, ?, 'submitted', ?, ?), ", #list - 1)
    .. "(?, ?, ?, ?, ?, ?, 'submitted', ?, ?) ON CONFLICT (reference) DO NOTHING", values, n }
end

-- Which of these OCIDs have a row: "n", their count.
function M.count(ocids)
  return { "SELECT count(*) AS n FROM payouts WHERE ocid IN (" .. M.marks(#ocids) .. ")", ocids, #ocids }
end

-- Where a send's error leaves its row: ambiguous -> unknown (reconcile
-- it); unsent -> created again (it never left: paying the reference again,
-- or the batch again, sends it); otherwise failed. -> state, outcome class
function M.state_after(err)
  local class = outcome.of(err)
  if class == "ambiguous" then return "unknown", class end
  if class == "unsent" then return "created", class end
  return "failed", class
end

-- A send that failed: submitted -> M.state_after(err).
function M.failure(ocid, err)
  local state, class = M.state_after(err)
  return { "UPDATE payouts SET state = ?, outcome = ?, error = ?, result_code = ?, updated_at = ? "
    .. "WHERE ocid = ? AND state = 'submitted'", { state,
    class, tostring(err), err.code and tostring(err.code) or nil, os.time(), ocid }, 6 }
end

-- Acknowledgements ({ ocid, ack } each): submitted -> accepted, a
-- compare-and-set per row; a row a callback already moved keeps its state
-- and gets only its ConversationID.
function M.acks(acks)
  local n = #acks
  local cases, values = {}, {}
  for k, a in ipairs(acks) do
    cases[k] = "WHEN ? THEN ?"
    values[2 * k - 1], values[2 * k] = a[1], a[2].ConversationID
    values[2 * n + 1 + k] = a[1]
  end
  values[2 * n + 1] = os.time()
  return { "UPDATE payouts SET conversation_id = coalesce(conversation_id, CASE ocid "
    .. table.concat(cases, " ") .. " END), "
    .. "updated_at = CASE WHEN state = 'submitted' THEN ? ELSE updated_at END, "
    .. "outcome = CASE WHEN state = 'submitted' THEN 'accepted' ELSE outcome END, "
    .. "state = CASE WHEN state = 'submitted' THEN 'accepted' ELSE state END "
    .. "WHERE ocid IN (" .. M.marks(n) .. ")", values, 3 * n + 1 }
end

return M
