-- The ledger's SQLite store: one file, WAL, every commit synced
-- (synchronous=FULL) so a row said to be written survives a crash. The
-- schema is created and migrated here (table b2c_ledger_version); the rules
-- that keep money safe live in it (unique ids, allowed states only).
-- LuaSQL is required only when a ledger is opened: the SDK does not need it.
local errors = require("b2c.errors")

local store = {}

local STATES = { "created", "submitted", "accepted", "paid", "failed", "unknown", "not_found" }
store.STATES = STATES

local function state_list()
  local quoted = {}
  for i, s in ipairs(STATES) do quoted[i] = "'" .. s .. "'" end
  return table.concat(quoted, ",")
end

-- Each step takes the schema from version i-1 to i.
local MIGRATIONS = {
  {
    [[CREATE TABLE payouts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      reference TEXT UNIQUE,
      root_id INTEGER REFERENCES payouts(id),
      previous_id INTEGER UNIQUE REFERENCES payouts(id),
      operation TEXT NOT NULL,
      ocid TEXT NOT NULL UNIQUE,
      conversation_id TEXT UNIQUE,
      receipt TEXT UNIQUE,
      recipient TEXT NOT NULL,
      amount INTEGER NOT NULL CHECK (amount > 0),
      request TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN (]] .. state_list() .. [[)),
      outcome TEXT,
      result_code TEXT,
      result_desc TEXT,
      error TEXT,
      attention TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      queried_at INTEGER,
      queries INTEGER NOT NULL DEFAULT 0
    )]],
    "CREATE INDEX payouts_state ON payouts(state, updated_at)",
    "CREATE INDEX payouts_root ON payouts(root_id)",
    -- Transaction Status queries: their answer names the query, not the payout.
    [[CREATE TABLE status_queries (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      payout_id INTEGER NOT NULL REFERENCES payouts(id),
      conversation_id TEXT UNIQUE,
      ocid TEXT UNIQUE,
      asked_at INTEGER NOT NULL
    )]],
    -- Every callback as received, matched or not, for audit.
    [[CREATE TABLE callbacks (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      received_at INTEGER NOT NULL,
      kind TEXT NOT NULL,
      ocid TEXT,
      conversation_id TEXT,
      payout_id INTEGER REFERENCES payouts(id),
      applied TEXT,
      body TEXT NOT NULL
    )]],
    "CREATE INDEX callbacks_ocid ON callbacks(ocid)",
  },
}
store.VERSION = #MIGRATIONS

local Store = {}
Store.__index = Store

-- A Lua value as an SQL literal. Text with a NUL byte (a hostile body) goes
-- as a hex blob cast to text: SQLite's quoted literals end at a NUL.
local function literal(v)
  if v == nil then return "NULL" end
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("ledger: not a finite number", 3) end
    if v == math.floor(v) then return string.format("%d", v) end
    return string.format("%.17g", v)
  end
  if type(v) == "boolean" then return v and "1" or "0" end
  local s = tostring(v)
  if not s:find("%z") then return "'" .. s:gsub("'", "''") .. "'" end
  return "CAST(X'" .. s:gsub(".", function(c) return string.format("%02X", c:byte()) end) .. "' AS TEXT)"
end

-- sql with each ? replaced by the next value, as a literal.
local function bind(sql, values, n)
  local i = 0
  local out = sql:gsub("%?", function()
    i = i + 1
    return literal(values[i])
  end)
  if i ~= n then error("ledger: " .. n .. " values for " .. i .. " placeholders", 3) end
  return out
end

local function db_error(message)
  return errors.new("ledger", "ledger: " .. tostring(message), { retryable = false })
end

-- Runs a statement: rows affected (or a cursor) | nil, err.
function Store:exec(sql, ...)
  return self:execv(sql, { ... }, select("#", ...))
end

-- The same with the values in a list of n.
function Store:execv(sql, values, n)
  local res, why = self.conn:execute(bind(sql, values, n or #values))
  if res == nil then return nil, db_error(why) end
  return res
end

-- All rows of a query as tables keyed by column name.
function Store:rows(sql, ...)
  return self:rowsv(sql, { ... }, select("#", ...))
end

function Store:rowsv(sql, values, n)
  local cur, err = self:execv(sql, values, n)
  if not cur then return nil, err end
  local out = {}
  while true do
    local row = cur:fetch({}, "a")
    if not row then break end
    out[#out + 1] = row
  end
  cur:close()
  return out
end

function Store:one(sql, ...)
  local rows, err = self:rows(sql, ...)
  if not rows then return nil, err end
  return rows[1] or false
end

-- fn() inside one transaction: committed when fn returns a value, rolled
-- back when it returns nil, err or raises.
function Store:transaction(fn)
  local ok, err = self:exec("BEGIN IMMEDIATE")
  if not ok then return nil, err end
  local fine, a, b = pcall(fn)
  if fine and a ~= nil then
    local committed, cerr = self:exec("COMMIT")
    if committed then return a, b end
    err = cerr
  else
    err = fine and b or (type(a) == "table" and a.err) or db_error(a)
  end
  self.conn:execute("ROLLBACK")
  return nil, err
end

function Store:last_id()
  local row = self:one("SELECT last_insert_rowid() AS id")
  return row and row.id
end

function Store:close()
  if self.conn then
    self.conn:close()
    self.env:close()
    self.conn, self.env = nil, nil
  end
end

local function migrate(s)
  local ok, err = s:exec("CREATE TABLE IF NOT EXISTS b2c_ledger_version (version INTEGER NOT NULL)")
  if not ok then return nil, err end
  return s:transaction(function()
    local row, rerr = s:one("SELECT max(version) AS v FROM b2c_ledger_version")
    if row == nil then return nil, rerr end
    local have = row and row.v or 0
    if have > #MIGRATIONS then
      return nil, db_error(string.format("the database has schema version %d, this library "
        .. "knows up to %d: use a newer b2c", have, #MIGRATIONS))
    end
    for v = have + 1, #MIGRATIONS do
      for _, sql in ipairs(MIGRATIONS[v]) do
        local done, why = s:exec(sql)
        if not done then return nil, why end
      end
      local done, why = s:exec("INSERT INTO b2c_ledger_version(version) VALUES (?)", v)
      if not done then return nil, why end
    end
    return true
  end)
end

-- store.open(path) -> store | nil, err
function store.open(path)
  local found, driver = pcall(require, "luasql.sqlite3")
  if not found then
    return nil, errors.new("config", "ledger: sqlite:// needs LuaSQL for SQLite "
      .. "(Debian: apt install lua-sql-sqlite3; LuaRocks: luarocks install luasql-sqlite3)",
      { field = "url" })
  end
  local env = driver.sqlite3()
  local conn, why = env:connect(path)
  if not conn then
    env:close()
    return nil, errors.new("config", "ledger: cannot open " .. path .. ": " .. tostring(why),
      { field = "url" })
  end
  local s = setmetatable({ env = env, conn = conn, path = path }, Store)
  for _, pragma in ipairs({ "PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON" }) do
    local res, err = s:exec(pragma)
    if not res then
      s:close()
      return nil, err
    end
    if type(res) == "userdata" then res:close() end
  end
  local ok, err = migrate(s)
  if not ok then
    s:close()
    return nil, err
  end
  return s
end

return store
