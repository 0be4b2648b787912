-- The ledger's PostgreSQL store, for several workers on several machines
-- sharing one ledger. Same schema rules as SQLite (unique ids, allowed states
-- only), created and migrated here. LuaSQL for PostgreSQL is required only
-- when such a ledger is opened.
local errors = require("b2c.errors")
local sql = require("b2c.ledger.sql")
local STATES = require("b2c.ledger.sqlite").STATES

local store = {}

local function state_list()
  local quoted = {}
  for i, s in ipairs(STATES) do quoted[i] = "'" .. s .. "'" end
  return table.concat(quoted, ",")
end

local MIGRATIONS = {
  {
    [[CREATE TABLE payouts (
      id BIGSERIAL PRIMARY KEY,
      reference TEXT UNIQUE,
      root_id BIGINT REFERENCES payouts(id),
      previous_id BIGINT UNIQUE REFERENCES payouts(id),
      operation TEXT NOT NULL,
      ocid TEXT NOT NULL UNIQUE,
      conversation_id TEXT UNIQUE,
      receipt TEXT UNIQUE,
      recipient TEXT NOT NULL,
      amount BIGINT NOT NULL CHECK (amount > 0),
      request TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN (]] .. state_list() .. [[)),
      outcome TEXT,
      result_code TEXT,
      result_desc TEXT,
      error TEXT,
      attention TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      queried_at BIGINT,
      queries INTEGER NOT NULL DEFAULT 0
    )]],
    "CREATE INDEX payouts_state ON payouts(state, updated_at)",
    "CREATE INDEX payouts_root ON payouts(root_id)",
    [[CREATE TABLE status_queries (
      id BIGSERIAL PRIMARY KEY,
      payout_id BIGINT NOT NULL REFERENCES payouts(id),
      conversation_id TEXT UNIQUE,
      ocid TEXT UNIQUE,
      asked_at BIGINT NOT NULL
    )]],
    [[CREATE TABLE callbacks (
      id BIGSERIAL PRIMARY KEY,
      received_at BIGINT NOT NULL,
      kind TEXT NOT NULL,
      ocid TEXT,
      conversation_id TEXT,
      payout_id BIGINT REFERENCES payouts(id),
      applied TEXT,
      body TEXT NOT NULL
    )]],
    "CREATE INDEX callbacks_ocid ON callbacks(ocid)",
  },
  {
    "ALTER TABLE payouts ADD COLUMN lease_owner TEXT",
    "ALTER TABLE payouts ADD COLUMN lease_until BIGINT",
  },
}

-- Text as an escape-string literal. PostgreSQL text holds no NUL byte: a
-- NUL in a hostile body is kept as the six characters \u0000.
local function literal_text(s)
  s = s:gsub("\\", "\\\\"):gsub("'", "''"):gsub("%z", "\\\\u0000")
  return "E'" .. s .. "'"
end

local NUMERIC = { int2 = true, int4 = true, int8 = true, numeric = true, float4 = true, float8 = true }

-- LuaSQL hands every PostgreSQL value over as text: the numeric columns of
-- a result, converted row by row by the store.
local function numeric_columns(cur)
  local names, types, out = cur:getcolnames(), cur:getcoltypes(), {}
  for i, name in ipairs(names) do
    if NUMERIC[types[i]] then out[#out + 1] = name end
  end
  return out
end

-- store.open{ user, password, host, port, database } -> store | nil, err
function store.open(c)
  local found, driver = pcall(require, "luasql.postgres")
  if not found then
    return nil, errors.new("config", "ledger: postgresql:// needs LuaSQL for PostgreSQL "
      .. "(Debian: apt install lua-sql-postgres; LuaRocks: luarocks install luasql-postgres)",
      { field = "url" })
  end
  local env = driver.postgres()
  local conn, why = env:connect(c.database, c.user, c.password, c.host, c.port)
  if not conn then
    env:close()
    return nil, errors.new("config", "ledger: cannot connect to PostgreSQL database "
      .. tostring(c.database) .. " at " .. tostring(c.host) .. ":" .. tostring(c.port) .. ": "
      .. tostring(why):gsub("password=%S+", "password=***"), { field = "url" })
  end
  local s = sql.new(env, conn, {
    migrations = MIGRATIONS, literal_text = literal_text, numeric_columns = numeric_columns,
    begin_sql = "BEGIN", last_id_sql = "SELECT lastval() AS id",
    -- a row another worker is leasing right now is passed over, not waited for
    skip_locked = " FOR UPDATE SKIP LOCKED",
    multi_statement = true,
  })
  local res, err = s:exec("SET client_min_messages = warning")
  if res then
    -- one migration at a time across workers
    res, err = s:exec("SELECT pg_advisory_lock(4242013)")
  end
  if not res then
    s:close()
    return nil, err
  end
  if type(res) == "userdata" then res:close() end
  local ok, merr = sql.migrate(s)
  local unlocked = s:exec("SELECT pg_advisory_unlock(4242013)")
  if type(unlocked) == "userdata" then unlocked:close() end
  if not ok then
    s:close()
    return nil, merr
  end
  return s
end

return store
