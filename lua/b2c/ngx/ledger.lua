-- b2c.ngx.ledger(pool, url, config) -> ledger: b2c.ledger's methods from a
-- request handler, each run on the thread pool `pool` (LuaSQL blocks; see
-- b2c.ngx.ledger_task), and its callback handlers.
--
-- luacheck: globals ngx
local check = require("b2c.ngx.check")
local check_plain = require("b2c.ngx.plain_values").check_plain
local run_on_pool = require("b2c.ngx.pool").run
local callbacks = require("b2c.ngx.callbacks")
local spellings = require("b2c.ngx.spellings")

local NgxLedger = {}
NgxLedger.__index = NgxLedger

-- The URLs b2c.ledger.open takes (it parses them fully on the pool thread).
local LEDGER_URL = { "^sqlite:///.", "^postgresql://[^@/]+@[^/]+/[^/?#]+$",
  "^postgres://[^@/]+@[^/]+/[^/?#]+$" }

local function ledger_url(url)
  if type(url) ~= "string" then return false end
  for _, pattern in ipairs(LEDGER_URL) do
    if url:match(pattern) then return true end
  end
  return false
end

-- b2c.ngx.ledger(pool, url, config) -> ledger: b2c.ledger's methods, each
-- run on the thread pool `pool` (declared with b2c.ngx.thread_pool) against
-- the ledger at url, paying with a client for config (b2c.ngx.check rules).
-- Raises on a bad argument: call it in init_by_lua.
local function ledger(pool, url, config)
  if type(pool) ~= "string" or pool == "" then
    error("b2c.ngx.ledger: pool: expected the name of a thread_pool, got " .. type(pool), 2)
  end
  if not ledger_url(url) then
    error("b2c.ngx.ledger: url: must be sqlite:///absolute/path.db or "
      .. "postgresql://user@host:port/database", 2)
  end
  local ok, err = pcall(check, config)
  if not ok then error((tostring(err):gsub("^b2c%.ngx%.check", "b2c.ngx.ledger")), 2) end
  return setmetatable({ pool = pool, url = url, config = config }, NgxLedger)
end

local function ledger_method(name, check_args)
  return function(self, a, b)
    if getmetatable(self) ~= NgxLedger then
      error("b2c.ngx.ledger: call it as ledger:" .. name .. "(...)", 2)
    end
    check_args(a, b)
    check_plain(a, "ledger:" .. name, 0)
    check_plain(b, "ledger:" .. name .. " options", 0)
    return run_on_pool(true, self.pool, "ledger_task", self.url, self.config, name, a, b)
  end
end

local function expect(name, what, ok)
  return function(a, b)
    if not ok(a, b) then error("ledger:" .. name .. ": expected " .. what, 4) end
  end
end

local function is_table(v) return type(v) == "table" end
local function optional_table(v) return v == nil or type(v) == "table" end
local function is_id(v) return type(v) == "number" end
local function is_body(v) return type(v) == "string" or type(v) == "table" end

NgxLedger.pay = ledger_method("pay", expect("pay", "(payout table[, options table])",
  function(a, b) return is_table(a) and optional_table(b) end))
NgxLedger.payBatch = ledger_method("payBatch", expect("payBatch", "(list of payouts[, options table])",
  function(a, b) return is_table(a) and optional_table(b) end))
NgxLedger.send = ledger_method("send", expect("send", "(id number)", is_id))
NgxLedger.retry = ledger_method("retry", expect("retry", "(id number)", is_id))
NgxLedger.reconcile = ledger_method("reconcile", expect("reconcile", "([options table])", optional_table))
NgxLedger.applyResult = ledger_method("applyResult", expect("applyResult", "(body string or table)", is_body))
NgxLedger.applyQueueTimeout = ledger_method("applyQueueTimeout",
  expect("applyQueueTimeout", "(body string or table)", is_body))
NgxLedger.get = ledger_method("get", expect("get", "(id number or reference string)",
  function(a) return type(a) == "number" or type(a) == "string" end))
NgxLedger.list = ledger_method("list", expect("list", "([options table])", optional_table))
NgxLedger.stats = ledger_method("stats", expect("stats", "()", function(a) return a == nil end))

-- A callback handler that writes to the ledger: acknowledged once
-- recorded (matched or kept unmatched). Any failure but the body's own
-- (the ledger could not be opened or written, the pool was full) is
-- answered 500, so that Daraja delivers it again.
local function ledger_handler(book, apply, handler, opts)
  return handler(function(_, body)
    local applied, err = apply(book, body)
    if applied then return true end
    if err.kind ~= "callback" then
      ngx.log(ngx.ERR, "b2c.ngx.ledger: callback not recorded: ", tostring(err))
      return false
    end
    -- kept in the ledger as received, but unusable: delivering it again cannot help
    ngx.log(ngx.WARN, "b2c.ngx.ledger: callback kept but not applied: ", tostring(err))
    return true
  end, opts)
end

-- ledger:handleResult(opts) / ledger:handleQueueTimeout(opts): the whole
-- ResultURL / QueueTimeOutURL content handler, as b2c.ngx.handle_result.
function NgxLedger:handleResult(opts)
  return ledger_handler(self, NgxLedger.applyResult, callbacks.handle_result, opts)
end

function NgxLedger:handleQueueTimeout(opts)
  return ledger_handler(self, NgxLedger.applyQueueTimeout, callbacks.handle_queue_timeout, opts)
end

-- ledger:pay_batch, ledger:apply_result, ...: the snake_case names too
spellings(NgxLedger)

return ledger
