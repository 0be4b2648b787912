-- b2c.new{...}: a configured client, with one namespace per operation of
-- the registry (mpesa.b2c.send, mpesa.transactionStatus.query, ...).
-- Settings are checked by b2c.config before the C core sees them; secrets
-- are handed to the core and not kept in the Lua table.
local core = require("b2c.core")
local config = require("b2c.config")
local errors = require("b2c.errors")
local events = require("b2c.events")
local json = require("b2c.json")
local registry = require("b2c.operations")
local request = require("b2c.engine.request")
local polled = require("b2c.engine.polled")
local batch = require("b2c.engine.batch")

local Client = {}
Client.__index = Client
Client.__tostring = function(c)
  return string.format("b2c client (%s, shortCode %s)", c.environment, c.shortCode)
end

-- The checked body as JSON, and the request for it; nil, err when p
-- breaks a rule (nothing sent).
local function prepare(client, op, p)
  local body, reference = op.build(client, p)
  if not body then return nil, reference end
  return request.new(client, op, json.encode(body), op.ocidField and body[op.ocidField], reference)
end

-- The verbs an operation may offer, each (client, op, ...) -> its result.
local VERBS = {}

-- Blocking: the request's state machine driven to the end.
function VERBS.send(client, op, p)
  local r, err = prepare(client, op, p)
  if not r then return nil, err end
  return request.run(client.core, r)
end
VERBS.query, VERBS.request = VERBS.send, VERBS.send

-- Polled: a handle at once, progress through mpesa:step().
function VERBS.start(client, op, p)
  local r, err = prepare(client, op, p)
  if not r then return nil, err end
  return polled.of(client):start(r)
end

function VERBS.sendBatch(client, op, payouts, options)
  return batch.run(client, op, payouts, options)
end

-- mpesa.<namespace>.<verb>{...} as documented; mpesa.<namespace>:<verb>{...} works too.
local function namespace(client, op)
  local ns = {}
  for _, verb in ipairs(op.verbs) do
    local run = assert(VERBS[verb], verb)
    local batch_verb = verb == "sendBatch"
    ns[verb] = function(a, b, c)
      if a == ns then a, b = b, c end
      if type(a) ~= "table" and not batch_verb then
        error("mpesa." .. op.namespace .. "." .. verb .. ": expected a table of " .. op.label
          .. " fields, got " .. type(a), 2)
      end
      return run(client, op, a, b)
    end
  end
  return ns
end

local client = {}

function client.new(cfg)
  if type(cfg) ~= "table" then
    error("b2c.new: expected a table of settings, got " .. type(cfg), 2)
  end
  local c, err = config.check(cfg)
  if not c then return nil, err end
  local handle, rule, field = core.client({
    baseUrl = c.baseUrl, consumerKey = c.consumerKey, consumerSecret = c.consumerSecret,
    securityCredential = c.securityCredential, initiatorPassword = c.initiatorPassword,
    certificate = c.certificate, userAgent = config.USER_AGENT, caFile = c.caFile,
    timeout = c.timeout, connectTimeout = c.connectTimeout, maxResponseBytes = c.maxResponseBytes,
    proxy = c.proxy,
  })
  if not handle then return nil, errors.config(field, rule) end
  local self = setmetatable({
    environment = c.environment, shortCode = c.shortCode, initiatorName = c.initiatorName,
    baseUrl = c.baseUrl, resultUrl = c.resultUrl, queueTimeOutUrl = c.queueTimeOutUrl,
    minAmount = c.minAmount, maxAmount = c.maxAmount, core = handle,
    emit = events.emitter(c.events),
  }, Client)
  if c.tokenStore then
    -- Named by a digest of host, key and secret: apps stay apart and the
    -- name reveals no secret. A fetch may hold the lock for its whole timeout.
    self.sharedToken = {
      store = c.tokenStore, lockSeconds = c.timeout + 1, fallback = c.tokenStoreFallback,
      key = core.token_key(c.baseUrl, c.consumerKey, c.consumerSecret),
    }
  end
  for _, op in ipairs(registry.list) do
    self[op.namespace] = namespace(self, op)
  end
  return self
end

-- Does the I/O that is ready for started calls, waiting at most timeout
-- seconds (default 0: not at all). Returns how many are not done yet.
function Client:step(timeout)
  if timeout ~= nil and type(timeout) ~= "number" then
    error("mpesa:step: timeout must be a number of seconds", 2)
  end
  if not self.queue then return 0 end
  return self.queue:step(timeout or 0)
end

-- Releases the connection and wipes the secrets; idempotent. Polled
-- calls still in flight finish first, with an error (see polled abandon).
function Client:close()
  if self.queue then self.queue:abandon() end
  self.core:close()
end

return client
