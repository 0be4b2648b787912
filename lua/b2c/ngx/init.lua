-- b2c.ngx: Daraja calls (B2C payouts and every other operation of the
-- registry) from OpenResty (nginx + lua-nginx-module, LuaJIT) without
-- blocking the event loop.
--
-- A call is a blocking libcurl call, so it runs on an nginx thread pool
-- through ngx.run_worker_thread: the request's coroutine yields, the worker
-- keeps serving other requests, and the send runs in a Lua VM of the pool
-- that keeps its clients (and their keep-alive connections) from one task
-- to the next. Only plain values cross between the VMs.
--
--   b2c.ngx.thread_pool(pool, {maxQueue=n}) at start: the pool's max_queue
--   b2c.ngx.send(pool, config, payout)      in a request handler (or a timer)
--   b2c.ngx.send(config, payout)            the same, on the pool's thread
--   b2c.ngx.call(pool, config, namespace, verb, fields)
--                                           any operation's blocking verb, e.g.
--                                           ("b2c", cfg, "transactionStatus", "query", {...})
--   b2c.ngx.ledger(pool, url, config)       b2c.ledger on the pool's threads
--   b2c.ngx.check(config)                   in init_by_lua: raises on a bad setting
--   b2c.ngx.shared_dict_store(dict_name)    a tokenStore on ngx.shared.DICT
--   b2c.ngx.handle_result(on_result, opts)  a ResultURL content handler
--   b2c.ngx.handle_queue_timeout(on_timeout, opts)
--
-- Each has its own file under b2c/ngx/ (pool.lua runs tasks on the pool,
-- plain_values.lua says what crosses); this one puts the module together.
-- Every name is also spelled camelCase (b2c.ngx.threadPool, ...).
local pool = require("b2c.ngx.pool")
local call = require("b2c.ngx.call")
local callbacks = require("b2c.ngx.callbacks")
local spellings = require("b2c.ngx.spellings")

local M = {}

M.MODULE = pool.MODULE   -- the module name given to ngx.run_worker_thread

M.thread_pool = pool.thread_pool
M.call = call.call
M.send = call.send
M.check = require("b2c.ngx.check")
M.shared_dict_store = require("b2c.ngx.token_store")
M.ledger = require("b2c.ngx.ledger")
M.ledger_task = require("b2c.ngx.ledger_task")  -- what b2c.ngx.ledger runs on the pool
M.handle_result = callbacks.handle_result
M.handle_queue_timeout = callbacks.handle_queue_timeout

return spellings(M)
