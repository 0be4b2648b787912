-- The ledger's SQLite store: one file, WAL, every commit synced
-- (synchronous=FULL) so a row said to be written survives a crash. The
-- schema (schema.lua) is created and migrated when a ledger is opened.
-- LuaSQL is required only when a ledger is opened: the SDK does not need it.
local core = require("b2c.core")
local schema = require("b2c.ledger.schema")
local sql = require("b2c.ledger.sql")

local store = {}

-- INTEGER is 64-bit in SQLite; AUTOINCREMENT never hands out an id twice.
local TYPES = { key = "INTEGER PRIMARY KEY AUTOINCREMENT", int64 = "INTEGER" }

-- Text as a literal. Text with a NUL byte (a hostile body) goes as a hex
-- blob cast to text: SQLite's quoted literals end at a NUL.
local function literal_text(s)
  if not s:find("[%z']") then return "'" .. s .. "'" end -- most text: nothing to escape
  if not s:find("%z") then return "'" .. s:gsub("'", "''") .. "'" end
  return "CAST(X'" .. s:gsub(".", function(c) return string.format("%02X", c:byte()) end) .. "' AS TEXT)"
end

local DIALECT = {
  literal_text = literal_text,
  begin_sql = "BEGIN IMMEDIATE", last_id_sql = "SELECT last_insert_rowid() AS id",
  -- one writer at a time: BEGIN IMMEDIATE already keeps other workers out
  skip_locked = "",
}

local BUSY_SECONDS = 10

local PRAGMAS = { "PRAGMA busy_timeout = " .. BUSY_SECONDS * 1000,
  "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON" }

-- Runs a PRAGMA -> true | nil, err. Switching a new file to WAL needs the
-- only lock on it, and SQLite answers "locked" at once, without its busy
-- timeout, when other processes are opening the file at the same moment:
-- that one is tried again for as long as the busy timeout would have waited.
local function pragma(s, statement)
  local deadline = core.now() + BUSY_SECONDS
  while true do
    local ok, err = s:run(statement)
    if ok then return true end
    if not tostring(err):find("locked", 1, true) or core.now() > deadline then
      return nil, err
    end
    core.sleep(0.002 + math.random() * 0.008)
  end
end

-- store.open(path) -> store | nil, err
function store.open(path)
  return sql.open({
    driver = "sqlite3", scheme = "sqlite", product = "SQLite",
    connect = function(env) return env:connect(path) end,
    refused = function(why) return "cannot open " .. path .. ": " .. tostring(why) end,
    ready = function(s)
      for _, statement in ipairs(PRAGMAS) do
        local ok, err = pragma(s, statement)
        if not ok then return nil, err end
      end
      return schema.migrate(s, TYPES)
    end,
  }, DIALECT)
end

return store
