-- The application the OpenResty specs run inside nginx (LuaJIT): request
-- handlers that pay out through b2c.ngx and receive Daraja's callbacks.
-- The settings come from the module spec_config, written by the spec.
-- luacheck: globals ngx
local b2c = require("b2c")
local b2c_ngx = require("b2c.ngx")
local cfg = require("spec_config")
local json = require("cjson.safe").new()  -- our own instance: global settings untouched

local app = {}

-- The max_queue of nginx.conf's thread_pool b2c. "no-such-pool" is declared
-- here but not in nginx.conf: nginx itself refuses it.
b2c_ngx.thread_pool("b2c", { maxQueue = cfg.maxQueue })
b2c_ngx.thread_pool("no-such-pool", { maxQueue = 8 })

-- The payout ledger on the pool (when the spec gives one), paying with the
-- token in the lua_shared_dict and its callbacks at /ledger/*.
local book = cfg.ledgerUrl and b2c_ngx.ledger("b2c", cfg.ledgerUrl, cfg.ledger)
-- a ledger that cannot be opened (its folder does not exist)
local unopenable = b2c_ngx.ledger("b2c", "sqlite:///nonexistent-b2c-spec-dir/ledger.db", cfg.ledger)

local ERROR_FIELDS = { "kind", "message", "field", "status", "code", "requestId", "retryable",
  "originatorConversationId", "outcome" }

local function reply(t)
  ngx.say(json.encode(t))
end

local function fields(err)
  if type(err) ~= "table" then return err end
  local out = {}
  for _, f in ipairs(ERROR_FIELDS) do out[f] = err[f] end
  return out
end

-- The caller gives the OCID (and stores it first): whatever becomes of the
-- request, it can reconcile by it, and a retry with it cannot pay twice.
local function payout_from_args()
  local args = ngx.req.get_uri_args()
  if type(args.ocid) ~= "string" or args.ocid == "" then
    ngx.status = 400
    reply({ ok = false, err = { kind = "validation", field = "ocid",
      message = "ocid: required, made and stored by the caller" } })
    return ngx.exit(ngx.OK)
  end
  return {
    recipientPhone = args.phone or "0708374149",
    amount = tonumber(args.amount) or args.amount or 500,
    remarks = "nginx spec payout",
    originatorConversationId = args.ocid,
  }, args.store == "1" and cfg.shared or args.store == "redis" and cfg.redis or cfg.plain
end

-- GET /pay?ocid=&amount=&phone=&store=1|redis : b2c.ngx.send, the convenience.
function app.pay()
  local payout, settings = payout_from_args()
  local ack, err = b2c_ngx.send("b2c", settings, payout)
  if ack then
    return reply({ ok = true, ack = ack, pid = ngx.worker.pid() })
  end
  reply({ ok = false, err = fields(err), text = tostring(err), isError = b2c.isError(err),
    pid = ngx.worker.pid() })
end

-- GET /pay-timer?ocid=... : b2c.ngx.send from an ngx.timer; the outcome
-- goes to /seen?key=timer:<ocid>.
function app.pay_timer()
  local payout, settings = payout_from_args()
  assert(ngx.timer.at(0, function()
    local ack, err = b2c_ngx.send("b2c", settings, payout)
    ngx.shared.seen:set("timer:" .. payout.originatorConversationId, json.encode({
      ok = ack ~= nil, ocid = ack and ack.OriginatorConversationID, err = fields(err) }))
  end))
  reply({ started = true })
end

-- GET /pay-raw?... : the documented ngx.run_worker_thread call itself.
function app.pay_raw()
  local payout, settings = payout_from_args()
  local ok, ack, err = ngx.run_worker_thread("b2c", "b2c.ngx", "send", settings, payout)
  reply({ ran = ok, ack = ack, err = err, errHasMetatable = getmetatable(err) ~= nil })
end

-- GET /pay-nopool : a pool that nginx.conf does not declare.
function app.pay_nopool()
  local payout = payout_from_args()
  local ack, err = b2c_ngx.send("no-such-pool", cfg.plain, payout)
  reply({ ok = ack ~= nil, err = fields(err), isError = b2c.isError(err) })
end

-- GET /pay-undeclared : a pool b2c.ngx.thread_pool was not told about.
function app.pay_undeclared()
  local ack, err = b2c_ngx.send("undeclared", cfg.plain, payout_from_args())
  reply({ ok = ack ~= nil, err = fields(err) })
end

-- GET /query?ocid=&namespace=&verb=[&fields=JSON][&store=1] : any operation
-- through b2c.ngx.call (a Transaction Status query unless told otherwise;
-- fields, when given, are the call's fields; store=1: the token in the
-- lua_shared_dict).
function app.query()
  local args = ngx.req.get_uri_args()
  local call_fields = args.fields and json.decode(args.fields) or { originatorConversationId = args.ocid }
  local ok, ack, err = pcall(b2c_ngx.call, "b2c", args.store == "1" and cfg.shared or cfg.plain,
    args.namespace or "transactionStatus", args.verb or "query", call_fields)
  if not ok then return reply({ ok = false, raised = tostring(ack) }) end
  reply({ ok = ack ~= nil, ack = ack, err = fields(err), isError = b2c.isError(err), pid = ngx.worker.pid() })
end

-- GET /trylock : shared_dict_store's lock without waiting, as two holders see it.
function app.trylock()
  local a = assert(b2c_ngx.shared_dict_store("b2c_tokens"))
  local b = assert(b2c_ngx.shared_dict_store("b2c_tokens"))
  local t0 = ngx.now()
  local steps = { a:tryLock("spec-trylock", 5), b:tryLock("spec-trylock", 5) }
  a:unlock("spec-trylock")
  steps[3] = b:tryLock("spec-trylock", 5)
  b:unlock("spec-trylock")
  ngx.update_time()
  reply({ steps = steps, waited = ngx.now() - t0 })
end

function app.ping()
  ngx.say('{"pong":true}')
end

-- POST /result : Daraja's result callback.
function app.result()
  b2c_ngx.handle_result(function(result)
    local seen = ngx.shared.seen
    seen:incr("calls", 1, 0)
    local p = b2c.getResultParametersMap(result)
    seen:set("result:" .. result.OriginatorConversationID, json.encode({
      ok = result.ok, code = result.ResultCode, receipt = p.TransactionReceipt,
      amount = p.TransactionAmount,
    }))
  end)
end

-- POST /timeout : the queue timeout notification.
function app.timeout()
  b2c_ngx.handle_queue_timeout(function(note)
    ngx.shared.seen:incr("calls", 1, 0)
    ngx.shared.seen:set("timeout:" .. note.OriginatorConversationID, "1")
  end)
end

-- POST /result-failing : user code that raises: not acknowledged.
function app.result_failing()
  b2c_ngx.handle_result(function()
    ngx.shared.seen:incr("calls", 1, 0)
    error("the database is down")
  end, { maxBodyBytes = 4096 })
end

-- GET /seen?key= : what the callback handlers stored.
function app.seen()
  local seen = ngx.shared.seen
  local key = ngx.req.get_uri_args().key
  reply({ calls = seen:get("calls") or 0, value = key and seen:get(key) or nil })
end

-- GET /new-client?store= : b2c.new called directly in a request handler
-- with tokenStore naming a lua_shared_dict (nothing is sent).
function app.new_client()
  local settings = {}
  for k, v in pairs(cfg.plain) do settings[k] = v end
  settings.tokenStore = ngx.req.get_uri_args().store
  local mpesa, err = b2c.new(settings)
  if not mpesa then return reply({ ok = false, err = fields(err) }) end
  local store = mpesa.sharedToken and mpesa.sharedToken.store
  reply({ ok = true, storeDict = store and store.name })
  mpesa:close()
end

-- /ledger/<method> : the ledger's method through the pool. pay and batch
-- take ?reference=&phone=&amount= (batch: &count=, references
-- <reference>-<i>); get ?key= (an id when numeric); list ?state=;
-- reconcile ?overdue=; retry ?id=; misuse calls pay with a string.
local LEDGER = {}

local function ledger_payout(args, reference)
  return { recipientPhone = args.phone or "0708374149", amount = tonumber(args.amount) or 500,
    remarks = "nginx ledger payout", reference = reference }
end

function LEDGER.pay(args)
  return book:pay(ledger_payout(args, args.reference))
end

function LEDGER.batch(args)
  local payouts = {}
  for i = 1, tonumber(args.count) or 1 do payouts[i] = ledger_payout(args, args.reference .. "-" .. i) end
  return book:pay_batch(payouts, { concurrency = 4 })
end

function LEDGER.get(args)
  return book:get(tonumber(args.key) or args.key)
end

function LEDGER.list(args)
  return book:list({ state = args.state })
end

function LEDGER.stats()
  return book:stats()
end

function LEDGER.reconcile(args)
  return book:reconcile({ delay = 0, overdue = tonumber(args.overdue) or 3600, requery = 0 })
end

function LEDGER.retry(args)
  return book:retry(tonumber(args.id))
end

function LEDGER.misuse()
  return book:pay("not a payout")
end

function app.ledger(method)
  local args = ngx.req.get_uri_args()
  local ok, value, err = pcall(LEDGER[method], args)
  if not ok then return reply({ ok = false, raised = tostring(value) }) end
  reply({ ok = value ~= nil, value = value, err = fields(err), isError = err ~= nil and b2c.isError(err),
    pid = ngx.worker.pid() })
end

-- POST /ledger/result, /ledger/timeout : the callbacks, written to the ledger.
function app.ledger_result()
  book:handleResult()
end

function app.ledger_timeout()
  book:handle_queue_timeout()
end

-- POST /ledger/result-unopenable : the result handler of a ledger that cannot be opened.
function app.ledger_result_unopenable()
  unopenable:handleResult()
end

return app
