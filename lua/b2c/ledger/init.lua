-- b2c.ledger: a durable record of every payout and the state machine that
-- drives each one to a final state. A row is committed before its payout
-- leaves; one OCID is sent at most once; a new attempt (new OCID, linked to
-- the first) only after failed or not_found.
-- This file opens a ledger and puts together its object from the parts,
-- one job each: states (the compare-and-set moves), references
-- (idempotency), pay (pay, start, send), batch (payBatch), callbacks
-- (applyResult, applyQueueTimeout), reconcile, retry, lookups (get, list,
-- stats) and rows (reading and adding rows). They share request (a payout
-- built with its OCID), statements, view (a row as the caller sees it) and
-- failures (a store failure -> nil, err).
local core = require("b2c.core")
local errors = require("b2c.errors")
local events = require("b2c.events")
local failures = require("b2c.ledger.failures")

local ledger = {}

local Ledger = {}
Ledger.__index = Ledger

-- Each part returns its methods.
for _, part in ipairs({ "rows", "states", "references", "pay", "batch", "callbacks", "reconcile",
  "retry", "lookups" }) do
  for name, method in pairs(require("b2c.ledger." .. part)) do Ledger[name] = method end
end

function Ledger:close()
  self.store:close()
end

-- A store failure inside these returns nil, err (b2c.ledger.failures).
for _, name in ipairs({ "pay", "send", "payBatch", "applyResult", "applyQueueTimeout", "reconcile",
  "retry", "get", "list", "stats" }) do
  Ledger[name] = failures.guarded(Ledger[name])
end

ledger.STATES = require("b2c.ledger.schema").STATES
ledger.FINAL = { paid = true, failed = true, not_found = true }

local function unescape(s)
  return s and (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- postgresql://user[:password]@host[:port]/database -> its parts | nil
local function postgres_url(url)
  local rest = url:match("^postgres://(.+)$") or url:match("^postgresql://(.+)$")
  if not rest then return nil end
  local auth, host, db = rest:match("^([^@/]+)@([^/]+)/([^/?#]+)$")
  if not auth then return nil end
  local user, password = auth:match("^([^:]+):(.*)$")
  local name, port = host:match("^([^:]+):(%d+)$")
  return { user = unescape(user or auth), password = unescape(password), host = name or host,
    port = tonumber(port or 5432), database = unescape(db) }
end

-- b2c.ledger.open(url[, { events = hook }]) -> ledger | nil, err
-- url: sqlite:///path/ledger.db or postgresql://user[:password]@host[:port]/database
-- events: as b2c.new's (ledger.state, callback.read / callback.refused)
function ledger.open(url, options)
  if type(url) ~= "string" then error("b2c.ledger.open: expected a URL string", 2) end
  if options ~= nil and type(options) ~= "table" then error("b2c.ledger.open: options must be a table", 2) end
  for k in pairs(options or {}) do
    if k ~= "events" then error("b2c.ledger.open: " .. tostring(k) .. ": is not an option (only events is)", 2) end
  end
  local hook, herr = events.check(options and options.events, "events")
  if herr then return nil, herr end
  local path = url:match("^sqlite://(/.+)$")
  local pg = not path and postgres_url(url)
  if not path and not pg then
    -- the URL itself may hold a password: only its scheme is named
    return nil, errors.config("url", "must be sqlite:///absolute/path.db or "
      .. "postgresql://user[:password]@host[:port]/database (got a "
      .. string.format("%q", url:match("^(%a[%w+.-]*):") or "schemeless") .. " URL)")
  end
  local s, err
  if path then
    s, err = require("b2c.ledger.sqlite").open(path)
  else
    s, err = require("b2c.ledger.postgres").open(pg)
  end
  if not s then return nil, err end
  -- owner: this ledger's name on the payouts it leases while reconciling
  return setmetatable({ store = s, owner = core.uuid(), emit = events.emitter(hook),
    parsing = hook and { events = hook } }, Ledger)
end

return ledger
