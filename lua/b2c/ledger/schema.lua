-- The ledger's schema, written once for both stores: its tables, the rules
-- that keep money safe (unique ids, allowed states only) and the steps that
-- migrate a ledger, counted in table b2c_ledger_version. A store supplies
-- its dialect's column types: {key} (an id numbered by the database) and
-- {int64} (ids, amounts, times).
local sql = require("b2c.ledger.sql")

local M = {}

M.STATES = { "created", "submitted", "accepted", "paid", "failed", "unknown", "not_found" }

local function state_list()
  local quoted = {}
  for i, s in ipairs(M.STATES) do quoted[i] = "'" .. s .. "'" end
  return table.concat(quoted, ",")
end

-- Each step takes the schema from version i-1 to i.
local STEPS = {
  {
    [[CREATE TABLE payouts (
      id {key},
      reference TEXT UNIQUE,
      root_id {int64} REFERENCES payouts(id),
      previous_id {int64} UNIQUE REFERENCES payouts(id),
      operation TEXT NOT NULL,
      ocid TEXT NOT NULL UNIQUE,
      conversation_id TEXT UNIQUE,
      receipt TEXT UNIQUE,
      recipient TEXT NOT NULL,
      amount {int64} NOT NULL CHECK (amount > 0),
      request TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN (]] .. state_list() .. [[)),
      outcome TEXT,
      result_code TEXT,
      result_desc TEXT,
      error TEXT,
      attention TEXT,
      created_at {int64} NOT NULL,
      updated_at {int64} NOT NULL,
      queried_at {int64},
      queries INTEGER NOT NULL DEFAULT 0
    )]],
    "CREATE INDEX payouts_state ON payouts(state, updated_at)",
    "CREATE INDEX payouts_root ON payouts(root_id)",
    -- Transaction Status queries: their answer names the query, not the payout.
    [[CREATE TABLE status_queries (
      id {key},
      payout_id {int64} NOT NULL REFERENCES payouts(id),
      conversation_id TEXT UNIQUE,
      ocid TEXT UNIQUE,
      asked_at {int64} NOT NULL
    )]],
    -- Every callback as received, matched or not, for audit.
    [[CREATE TABLE callbacks (
      id {key},
      received_at {int64} NOT NULL,
      kind TEXT NOT NULL,
      ocid TEXT,
      conversation_id TEXT,
      payout_id {int64} REFERENCES payouts(id),
      applied TEXT,
      body TEXT NOT NULL
    )]],
    "CREATE INDEX callbacks_ocid ON callbacks(ocid)",
  },
  -- Reconcile leases: which worker is asking about a payout, until when.
  {
    "ALTER TABLE payouts ADD COLUMN lease_owner TEXT",
    "ALTER TABLE payouts ADD COLUMN lease_until {int64}",
  },
}

-- A step's statement in the dialect of `types` (every {word} in it named there).
local function in_dialect(statement, types)
  return (statement:gsub("{(%w+)}", function(word)
    return types[word] or error("ledger: the store names no column type {" .. word .. "}", 0)
  end))
end

-- Brings store s to the latest version, in one transaction -> true | nil, err.
-- types: { key = ..., int64 = ... }, the store's column types.
function M.migrate(s, types)
  local ok, err = s:exec("CREATE TABLE IF NOT EXISTS b2c_ledger_version (version INTEGER NOT NULL)")
  if not ok then return nil, err end
  return s:transaction(function()
    local row, rerr = s:one("SELECT max(version) AS v FROM b2c_ledger_version")
    if row == nil then return nil, rerr end
    local have = row and row.v or 0
    if have > #STEPS then
      return nil, sql.db_error(string.format("the database has schema version %d, this library "
        .. "knows up to %d: use a newer b2c", have, #STEPS))
    end
    for v = have + 1, #STEPS do
      for _, statement in ipairs(STEPS[v]) do
        local done, why = s:exec(in_dialect(statement, types))
        if not done then return nil, why end
      end
      local done, why = s:exec("INSERT INTO b2c_ledger_version(version) VALUES (?)", v)
      if not done then return nil, why end
    end
    return true
  end)
end

return M
