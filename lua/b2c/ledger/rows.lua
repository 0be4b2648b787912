-- b2c.ledger.rows: ledger methods that read and add payouts rows (init.lua
-- puts every part's methods on the ledger object).
local failures = require("b2c.ledger.failures")
local statements = require("b2c.ledger.statements")
local view = require("b2c.ledger.view")

local must = failures.must

local Rows = {}

-- Values a query binds at the most in one IN (...) list.
local CHUNK = 200

function Rows:row(where, ...)
  return self.store:one("SELECT * FROM payouts WHERE " .. where, ...)
end

-- The newest attempt of the payout whose first attempt is `first`.
function Rows:latest(first)
  return self.store:one("SELECT * FROM payouts WHERE id = ? OR root_id = ? ORDER BY id DESC LIMIT 1",
    first, first)
end

-- The rows whose `column` holds one of `values`, by that value, read in
-- chunks; columns: what is read of each (default all).
function Rows:rows_in(column, values, columns)
  local found = {}
  for first = 1, #values, CHUNK do
    local part = {}
    for i = first, math.min(#values, first + CHUNK - 1) do part[#part + 1] = values[i] end
    for _, r in ipairs(must(self.store:rowsv("SELECT " .. (columns or "*") .. " FROM payouts WHERE "
      .. column .. " IN (" .. statements.marks(#part) .. ")", part, #part))) do
      found[r[column]] = r
    end
  end
  return found
end

-- The current view of each entry of a list (rows or new payouts, each with
-- its OCID).
function Rows:views(entries)
  local ocids, out = {}, {}
  for i, e in ipairs(entries) do ocids[i] = e.ocid end
  local by_ocid = self:rows_in("ocid", ocids, view.COLUMNS)
  for i, e in ipairs(entries) do out[i] = view.of(by_ocid[e.ocid]) end
  return out
end

-- A new attempt stored as created (extra: its root_id and previous_id):
-- its id | nil, err.
function Rows:insert(p, extra)
  extra = extra or {}
  local t = os.time()
  local n, err = self.store:exec("INSERT INTO payouts (reference, root_id, previous_id, operation, "
    .. "ocid, recipient, amount, request, state, created_at, updated_at) VALUES "
    .. "(?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)", p.reference, extra.root_id, extra.previous_id,
    p.operation, p.ocid, p.recipient, p.amount, p.request, t, t)
  if not n then return nil, err end
  local id = self.store:last_id()
  self:moved(nil, "created", 1, id, p.ocid)
  return id
end

-- New payouts stored straight as submitted, after `before` (statements), in
-- one transaction. -> the OCIDs of the rows this call stored, as keys.
function Rows:insert_submitted(list, before)
  local ocids = {}
  for k, p in ipairs(list) do ocids[k] = p.ocid end
  local stored
  if self.store.multi_statement then
    local script = {}
    for k, st in ipairs(before or {}) do script[k] = st end
    script[#script + 1] = statements.insert_submitted(list, self.store)
    script[#script + 1] = statements.count(ocids, self.store)
    stored = tonumber(must(self.store:script(script))[1].n)
  else
    stored = must(self.store:transaction(function()
      for _, st in ipairs(before or {}) do must(self.store:execv(st[1], st[2], st[3])) end
      local insert = statements.insert_submitted(list, self.store)
      return must(self.store:execv(insert[1], insert[2], insert[3]))
    end))
  end
  if stored == #list then
    local mine = {}
    for _, ocid in ipairs(ocids) do mine[ocid] = true end
    return mine
  end
  return self:rows_in("ocid", ocids, "ocid")
end

return Rows
