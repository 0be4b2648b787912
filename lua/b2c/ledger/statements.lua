-- b2c.ledger.statements: statements as data ({ sql, values, n }) that the
-- ledger runs alone or several in one transaction (store:script, one round
-- trip on PostgreSQL): new payouts stored as submitted, and the outcomes
-- of their sends. Those of many rows at once are written whole with the
-- store's literals ({ sql }): a batch's groups are most of its SQL text.
local outcome = require("b2c.outcome")

local M = {}

-- n placeholders for an IN (...) list.
function M.marks(n)
  return string.rep("?, ", n - 1) .. "?"
end

-- The values as the store's literals, joined by ", ".
local function literals(store, values)
  local out = {}
  for i, v in ipairs(values) do out[i] = store:literal(v) end
  return table.concat(out, ", ")
end

-- New payouts (prepared, each with its OCID) stored straight as submitted;
-- a reference another worker stored meanwhile is left out.
function M.insert_submitted(list, store)
  local rows, t = {}, store:literal(os.time())
  for k, p in ipairs(list) do
    rows[k] = "(" .. store:literal(p.reference) .. ", " .. store:literal(p.operation) .. ", "
      .. store:literal(p.ocid) .. ", " .. store:literal(p.recipient) .. ", "
      .. store:literal(p.amount) .. ", " .. store:literal(p.request) .. ", 'submitted', " .. t
      .. ", " .. t .. ")"
  end
  return { "INSERT INTO payouts (reference, operation, ocid, recipient, amount, request, state, "
    .. "created_at, updated_at) VALUES " .. table.concat(rows, ", ")
    .. " ON CONFLICT (reference) DO NOTHING" }
end

-- Which of these OCIDs have a row: "n", their count.
function M.count(ocids, store)
  return { "SELECT count(*) AS n FROM payouts WHERE ocid IN (" .. literals(store, ocids) .. ")" }
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
function M.acks(acks, store)
  local cases, ocids = {}, {}
  for k, a in ipairs(acks) do
    ocids[k] = store:literal(a[1])
    cases[k] = "WHEN " .. ocids[k] .. " THEN " .. store:literal(a[2].ConversationID)
  end
  local t = store:literal(os.time())
  return { "UPDATE payouts SET conversation_id = coalesce(conversation_id, CASE ocid "
    .. table.concat(cases, " ") .. " END), "
    .. "updated_at = CASE WHEN state = 'submitted' THEN " .. t .. " ELSE updated_at END, "
    .. "outcome = CASE WHEN state = 'submitted' THEN 'accepted' ELSE outcome END, "
    .. "state = CASE WHEN state = 'submitted' THEN 'accepted' ELSE state END "
    .. "WHERE ocid IN (" .. table.concat(ocids, ", ") .. ")" }
end

return M
