-- The ledger's SQLite store: one file, WAL, every commit synced
-- (synchronous=FULL) so a row said to be written survives a crash. The
-- schema is created and migrated here (table b2c_ledger_version); the rules
-- that keep money safe live in it (unique ids, allowed states only).
-- LuaSQL is required only when a ledger is opened: the SDK does not need it.
local core = require("b2c.core")
local errors = require("b2c.errors")
local sql = require("b2c.ledger.sql")

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
  -- Reconcile leases: which worker is asking about a payout, until when.
  {
    "ALTER TABLE payouts ADD COLUMN lease_owner TEXT",
    "ALTER TABLE payouts ADD COLUMN lease_until INTEGER",
  },
}
store.VERSION = #MIGRATIONS

-- Text as a literal. Text with a NUL byte (a hostile body) goes as a hex
-- blob cast to text: SQLite's quoted literals end at a NUL.
local function literal_text(s)
  if not s:find("%z") then return "'" .. s:gsub("'", "''") .. "'" end
  return "CAST(X'" .. s:gsub(".", function(c) return string.format("%02X", c:byte()) end) .. "' AS TEXT)"
end

local BUSY_SECONDS = 10

-- Runs a PRAGMA (its rows, if any, closed) -> true | nil, err. Switching a
-- new file to WAL needs the only lock on it, and SQLite answers "locked"
-- at once, without its busy timeout, when other processes are opening the
-- file at the same moment: that one is tried again for as long as the
-- busy timeout would have waited.
local function pragma(s, statement)
  local deadline = core.now() + BUSY_SECONDS
  while true do
    local res, err = s:exec(statement)
    if res then
      if type(res) == "userdata" then res:close() end
      return true
    end
    if not tostring(err):find("locked", 1, true) or core.now() > deadline then
      return nil, err
    end
    core.sleep(0.002 + math.random() * 0.008)
  end
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
  local s = sql.new(env, conn, {
    path = path, migrations = MIGRATIONS, literal_text = literal_text,
    begin_sql = "BEGIN IMMEDIATE", last_id_sql = "SELECT last_insert_rowid() AS id",
    -- one writer at a time: BEGIN IMMEDIATE already keeps other workers out
    skip_locked = "",
  })
  for _, statement in ipairs({ "PRAGMA busy_timeout = " .. BUSY_SECONDS * 1000,
    "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON" }) do
    local ok, err = pragma(s, statement)
    if not ok then
      s:close()
      return nil, err
    end
  end
  local ok, err = sql.migrate(s)
  if not ok then
    s:close()
    return nil, err
  end
  return s
end

return store
