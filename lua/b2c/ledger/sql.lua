-- The ledger's stores share this: LuaSQL loaded and connected, values bound
-- as SQL literals (LuaSQL has no parameters), statements, rows and
-- transactions. sqlite.lua and postgres.lua add a dialect:
--   literal_text(s), begin_sql, last_id_sql, skip_locked, and
--   numeric_columns(cur, store) (the columns a driver hands over as text that are numbers).
-- Transactions nest savepoints, so that a failed part is undone alone.
local errors = require("b2c.errors")
local failures = require("b2c.ledger.failures")

local M = {}

local Store = {}
Store.__index = Store

-- A Lua value as an SQL literal; text as the dialect writes it.
local function literal(store, v)
  if v == nil then return "NULL" end
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("ledger: not a finite number", 3) end
    if v == math.floor(v) then return string.format("%d", v) end
    return string.format("%.17g", v)
  end
  if type(v) == "boolean" then return v and "1" or "0" end
  return store.literal_text(tostring(v))
end

-- sql with each ? replaced by the next value, as a literal; values nil:
-- sql is already written with its values as literals (Store:literal).
local function bind(store, text, values, n)
  if values == nil then return text end
  local i = 0
  local out = text:gsub("%?", function()
    i = i + 1
    return literal(store, values[i])
  end)
  if i ~= n then error("ledger: " .. n .. " values for " .. i .. " placeholders", 3) end
  return out
end

-- A value as this store's SQL literal, for statements written whole
-- (statements.lua: many rows at once, no placeholder to scan for).
function Store:literal(v)
  return literal(self, v)
end

-- A failure the database reported, as the ledger's error.
function M.db_error(message)
  return errors.new("ledger", "ledger: " .. tostring(message), { retryable = false })
end
local db_error = M.db_error

-- Runs a statement: rows affected (or a cursor) | nil, err.
function Store:exec(sql, ...)
  return self:execv(sql, { ... }, select("#", ...))
end

-- The same with the values in a list of n (nil: sql holds its literals).
function Store:execv(sql, values, n)
  local res, why = self.conn:execute(bind(self, sql, values, n or values and #values))
  if res == nil then return nil, db_error(why) end
  return res
end

-- Runs a statement whose rows are not wanted -> true | nil, err.
function Store:run(sql)
  local res, err = self:exec(sql)
  if not res then return nil, err end
  if type(res) == "userdata" then res:close() end
  return true
end

-- All rows of a query as tables keyed by column name.
function Store:rows(sql, ...)
  return self:rowsv(sql, { ... }, select("#", ...))
end

function Store:rowsv(sql, values, n)
  local cur, err = self:execv(sql, values, n)
  if not cur then return nil, err end
  return self:fetch_all(cur)
end

-- Statements ({ sql, values, n } each, or { sql } holding its literals) as one transaction in one round
-- trip, for a dialect that runs a query of several statements as one
-- transaction (`multi_statement`: PostgreSQL); the last one's rows | nil, err.
function Store:script(statements)
  local parts = {}
  for i, st in ipairs(statements) do parts[i] = bind(self, st[1], st[2], st[3]) end
  local cur, why = self.conn:execute(table.concat(parts, ";\n"))
  if cur == nil then return nil, db_error(why) end
  return self:fetch_all(cur)
end

-- Every row of a cursor, as tables keyed by column name.
function Store:fetch_all(cur)
  local out = {}
  local numeric = self.numeric_columns and self.numeric_columns(cur, self) or {}
  while true do
    local row = cur:fetch({}, "a")
    if not row then break end
    for _, name in ipairs(numeric) do
      if row[name] ~= nil then row[name] = tonumber(row[name]) end
    end
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

-- Why fn, run by pcall, failed: the err it returned, the store's err
-- it raised (b2c.ledger.failures), or what else it raised.
local function failure_of(fine, a, b)
  return fine and b or (type(a) == "table" and a.err) or db_error(a)
end

-- fn() inside one transaction: committed when fn returns a value, rolled
-- back when it returns nil, err or raises.
function Store:transaction(fn)
  local ok, err = self:exec(self.begin_sql)
  if not ok then return nil, err end
  local fine, a, b = pcall(fn)
  if fine and a ~= nil then
    local committed, cerr = self:exec("COMMIT")
    if committed then return a, b end
    err = cerr
  else
    err = failure_of(fine, a, b)
  end
  self.conn:execute("ROLLBACK")
  return nil, err
end

-- fn() under a savepoint, inside a transaction: kept when fn returns a
-- value; when it returns nil, err or raises, its changes are undone and
-- the transaction goes on (PostgreSQL refuses every statement after a
-- failed one, unless it is rolled back to a savepoint). -> fn's values |
-- nil, err. A savepoint that cannot be undone raises the store's err: the
-- transaction must not commit.
function Store:savepoint(fn)
  local ok, err = self:run("SAVEPOINT b2c")
  if not ok then return nil, err end
  local fine, a, b = pcall(fn)
  if fine and a ~= nil then
    ok, err = self:run("RELEASE SAVEPOINT b2c")
    if ok then return a, b end
  else
    err = failure_of(fine, a, b)
  end
  failures.must(self:run("ROLLBACK TO SAVEPOINT b2c"))
  failures.must(self:run("RELEASE SAVEPOINT b2c"))
  return nil, err
end

function Store:last_id()
  local row = self:one(self.last_id_sql)
  return row and row.id
end

function Store:close()
  if self.conn then
    self.conn:close()
    self.env:close()
    self.conn, self.env = nil, nil
  end
end

-- A store over LuaSQL's driver `db.driver` ("sqlite3", "postgres": also how
-- its Debian and LuaRocks packages end), for URLs `db.scheme` and databases
-- `db.product`: db.connect(env) -> conn | nil, why; db.refused(why), the
-- message for a refused connection; db.ready(store) -> true | nil, err,
-- which prepares and migrates it. -> store (with `dialect`) | nil, err
function M.open(db, dialect)
  local found, driver = pcall(require, "luasql." .. db.driver)
  if not found then
    return nil, errors.new("config", "ledger: " .. db.scheme .. ":// needs LuaSQL for " .. db.product
      .. " (Debian: apt install lua-sql-" .. db.driver .. "; LuaRocks: luarocks install luasql-"
      .. db.driver .. ")", { field = "url" })
  end
  local env = driver[db.driver]()
  local conn, why = db.connect(env)
  if not conn then
    env:close()
    return nil, errors.new("config", "ledger: " .. db.refused(why), { field = "url" })
  end
  local s = setmetatable({ env = env, conn = conn }, Store)
  for k, v in pairs(dialect) do s[k] = v end
  local ok, err = db.ready(s)
  if not ok then
    s:close()
    return nil, err
  end
  return s
end

return M
