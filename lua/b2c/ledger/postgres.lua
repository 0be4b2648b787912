-- The ledger's PostgreSQL store, for several workers on several machines
-- sharing one ledger. Same schema as SQLite (schema.lua), created and
-- migrated under an advisory lock. LuaSQL for PostgreSQL is required only
-- when such a ledger is opened.
local schema = require("b2c.ledger.schema")
local sql = require("b2c.ledger.sql")

local store = {}

local TYPES = { key = "BIGSERIAL PRIMARY KEY", int64 = "BIGINT" }

-- Text as an escape-string literal. PostgreSQL text holds no NUL byte: a
-- NUL in a hostile body is kept as the six characters \u0000.
local function literal_text(s)
  if not s:find("[%z\\']") then return "E'" .. s .. "'" end -- most text: nothing to escape
  s = s:gsub("\\", "\\\\"):gsub("'", "''"):gsub("%z", "\\\\u0000")
  return "E'" .. s .. "'"
end

local NUMERIC = { int2 = true, int4 = true, int8 = true, numeric = true, float4 = true, float8 = true }

-- LuaSQL hands every PostgreSQL value over as text: the numeric columns of
-- a result, converted row by row by the store. LuaSQL learns a result's
-- column types with one query per column (a SELECT * of payouts: 23 round
-- trips), so they are learnt once per store for each list of column names
-- (in this schema a name has one type wherever it appears).
local function numeric_columns(cur, s)
  local names = cur:getcolnames()
  local shape = table.concat(names, ",")
  s.numeric_by_shape = s.numeric_by_shape or {}
  local known = s.numeric_by_shape[shape]
  if known then return known end
  local types, out = cur:getcoltypes(), {}
  for i, name in ipairs(names) do
    if NUMERIC[types[i]] then out[#out + 1] = name end
  end
  s.numeric_by_shape[shape] = out
  return out
end

local DIALECT = {
  literal_text = literal_text, numeric_columns = numeric_columns,
  begin_sql = "BEGIN", last_id_sql = "SELECT lastval() AS id",
  -- a row another worker is leasing right now is passed over, not waited for
  skip_locked = " FOR UPDATE SKIP LOCKED",
  multi_statement = true,
}

-- Migrates with the lock held: one migration at a time across workers.
local function ready(s)
  local ok, err = s:run("SET client_min_messages = warning")
  if ok then ok, err = s:run("SELECT pg_advisory_lock(4242013)") end
  if not ok then return nil, err end
  ok, err = schema.migrate(s, TYPES)
  s:run("SELECT pg_advisory_unlock(4242013)")
  return ok, err
end

-- store.open{ user, password, host, port, database } -> store | nil, err
function store.open(c)
  return sql.open({
    driver = "postgres", scheme = "postgresql", product = "PostgreSQL",
    connect = function(env) return env:connect(c.database, c.user, c.password, c.host, c.port) end,
    refused = function(why)
      return "cannot connect to PostgreSQL database " .. tostring(c.database) .. " at "
        .. tostring(c.host) .. ":" .. tostring(c.port) .. ": "
        .. tostring(why):gsub("password=%S+", "password=***")
    end,
    ready = ready,
  }, DIALECT)
end

return store
