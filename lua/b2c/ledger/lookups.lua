-- b2c.ledger.lookups: ledger:get, ledger:list and ledger:stats, which read
-- the ledger and change nothing.
local failures = require("b2c.ledger.failures")
local view = require("b2c.ledger.view").of

local must = failures.must

local Lookups = {}

-- ledger:get(id or reference) -> payout | nil (the newest attempt of a reference)
function Lookups:get(key)
  local row
  if type(key) == "number" then
    row = self:row("id = ?", key)
  else
    row = self:row("reference = ?", key)
    if row then row = self:latest(row.id) end
  end
  return view(row or nil)
end

-- ledger:list{state=, limit=, attention=true} -> payouts, newest first
function Lookups:list(options)
  local o = options or {}
  local where, values = {}, {}
  if o.state then
    where[#where + 1] = "state = ?"
    values[#values + 1] = o.state
  end
  if o.attention then where[#where + 1] = "attention IS NOT NULL" end
  values[#values + 1] = o.limit or 100
  local sql = "SELECT * FROM payouts" .. (#where > 0 and " WHERE " .. table.concat(where, " AND ")
    or "") .. " ORDER BY id DESC LIMIT ?"
  local rows = must(self.store:rowsv(sql, values))
  local out = {}
  for i, row in ipairs(rows) do out[i] = view(row) end
  return out
end

-- ledger:stats() -> { total, byState = {state = n}, amountByState, attention, unmatchedCallbacks }
function Lookups:stats()
  local s = { total = 0, byState = {}, amountByState = {} }
  for _, r in ipairs(must(self.store:rows("SELECT state, count(*) AS n, sum(amount) AS a "
    .. "FROM payouts GROUP BY state"))) do
    s.byState[r.state] = tonumber(r.n)
    s.amountByState[r.state] = tonumber(r.a)
    s.total = s.total + tonumber(r.n)
  end
  s.attention = tonumber(must(self.store:one("SELECT count(*) AS n FROM payouts "
    .. "WHERE attention IS NOT NULL")).n)
  s.unmatchedCallbacks = tonumber(must(self.store:one("SELECT count(*) AS n FROM callbacks "
    .. "WHERE applied = 'unmatched'")).n)
  return s
end

return Lookups
