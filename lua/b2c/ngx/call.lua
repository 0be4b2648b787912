-- b2c.ngx.call and b2c.ngx.send: an operation's blocking verb, asked for
-- in a request handler (or a timer) and run on a pool thread, where the
-- same functions, called without the pool's name, do the work.
local registry = require("b2c.operations")
local plain_values = require("b2c.ngx.plain_values")
local thread_client = require("b2c.ngx.thread_client")
local run_on_pool = require("b2c.ngx.pool").run

local plain, plain_error = plain_values.plain, plain_values.plain_error

local M = {}

-- The verbs a pool thread runs: those that block until the answer.
local BLOCKING = { send = true, query = true, request = true }

-- The operation's namespace and verb as given to b2c.ngx.call; raises when
-- the registry has no such blocking verb (misuse, before anything is sent).
local function check_call(namespace, verb, level)
  local op = type(namespace) == "string" and registry.get(namespace)
  if not op then
    error("b2c.ngx.call: no operation named " .. tostring(namespace), level + 1)
  end
  for _, v in ipairs(op.verbs) do
    if v == verb and BLOCKING[v] then return op end
  end
  error("b2c.ngx.call: mpesa." .. namespace .. " has no blocking verb " .. tostring(verb)
    .. " (a pool thread runs send, query or request)", level + 1)
end

-- On the pool thread: (config, namespace, verb, fields) -> ack | nil, err,
-- both plain tables.
local function thread_call(config, namespace, verb, fields)
  if type(config) ~= "table" or type(fields) ~= "table" then
    error("b2c.ngx.call: expected (config, namespace, verb, fields)", 2)
  end
  check_call(namespace, verb, 2)
  local mpesa, err = thread_client(config)
  if not mpesa then return nil, plain_error(err) end
  local ack
  ack, err = mpesa[namespace][verb](fields)
  if not ack then return nil, plain_error(err) end
  return plain(ack, 0)
end

-- In a request handler: one operation's blocking verb on the pool.
local function request_call(name, pool, config, namespace, verb, fields)
  if type(config) ~= "table" then
    error("b2c.ngx." .. name .. ": expected a table of b2c.new settings, got " .. type(config), 3)
  end
  local op = check_call(namespace, verb, 3)
  if type(fields) ~= "table" then
    error("b2c.ngx." .. name .. ": expected a table of " .. op.label .. " fields, got "
      .. type(fields), 3)
  end
  return run_on_pool(false, pool, "call", config, namespace, verb, fields)
end

-- b2c.ngx.call(pool, config, namespace, verb, fields) in a request handler
-- or timer; b2c.ngx.call(config, namespace, verb, fields) on the pool's
-- thread (what the first calls).
function M.call(a, b, c, d, e)
  if type(a) == "string" then return request_call("call", a, b, c, d, e) end
  return thread_call(a, b, c, d)
end

-- b2c.ngx.send(pool, config, payout): B2C's send, the same as
-- b2c.ngx.call(pool, config, "b2c", "send", payout).
function M.send(a, b, c)
  if type(a) == "string" then return request_call("send", a, b, "b2c", "send", c) end
  return thread_call(a, "b2c", "send", b)
end

return M
