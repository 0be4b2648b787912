-- Calls driven by polling, for hosts that cannot block (game loops, other
-- event loops) and for sendBatch: start returns a handle at once; step does
-- the I/O that is ready and never waits longer than asked. Each handle is a
-- request (engine/request.lua) in the same states as a blocking call, and
-- the token comes the same way, store included, without ever waiting.
local errors = require("b2c.errors")
local request = require("b2c.engine.request")
local token = require("b2c.engine.token")

local Handle = {}
Handle.__index = Handle

-- handle:result() -> ack | nil, err; raises when called before done.
function Handle:result()
  if not self.done then error("b2c: result() before the payout is done", 2) end
  return self.ack, self.err
end

local Queue = {}
Queue.__index = Queue

local polled = {}

-- shared: the client's tokenStore ({ store, key, lockSeconds }) or nil.
function polled.new(core, shared)
  return setmetatable({ core = core, shared = shared, handles = {}, fetch = {}, pid = core:pid() },
    Queue)
end

-- The client's queue (b2c.new's object), made on first use: every polled
-- call and batch of one client shares it, and mpesa:step drives it.
function polled.of(client)
  client.queue = client.queue or polled.new(client.core, client.sharedToken)
  return client.queue
end

-- A handle waiting for a token: send when the core holds one, else make
-- sure one is on its way (the store, or one fetch per app in the process).
-- ready: this pass's answer of token.poll (nil: not asked yet), so that a
-- pass over many handles looks for a token once. Returns the answer.
function Queue:advance(h, ready)
  local core = self.core
  if ready ~= false and core:cached_token() then
    h.used = token.used(core, self.shared)
    local id, generation = core:start_post(h.path, h.body, true)
    if not id then
      request.failed(h, generation)
    else
      h.id, h.generation = id, generation
      request.sending(h)
    end
    return true
  end
  if ready ~= nil then return false end
  local failure
  ready, failure = token.poll(core, self.shared, self.fetch, h)
  if ready == nil then
    -- no fetch could start: nothing waiting for a token can be sent
    for _, other in ipairs(self.handles) do
      if other.state == "token" then request.no_token(other, failure) end
    end
    return false
  end
  if ready then return self:advance(h, true) end
  return false
end

-- Advances every handle waiting for a token.
function Queue:advance_all()
  local ready
  for _, h in ipairs(self.handles) do
    if h.state == "token" then ready = self:advance(h, ready) end
  end
end

-- After fork() the child holds copies of the parent's handles, and the
-- parent sends them: the child must not. Those already sending end through
-- the core (it fails them); those still waiting for a token end here.
function Queue:check_process()
  local pid = self.core:pid()
  local parent = self.pid
  if pid == parent then return end
  self.pid = pid
  self.fetch = {} -- the parent's fetch and lock are the parent's
  for _, h in ipairs(self.handles) do
    if h.state == "token" then
      request.finish(h, nil, errors.new("timeout", "started before fork() by process " .. parent
        .. ", which sends it; this process does not: reconcile by OriginatorConversationID "
        .. tostring(h.ocid), { originatorConversationId = h.ocid, retryable = false }))
    end
  end
end

-- Starts request r (engine/request.lua) and returns its handle.
function Queue:start(r)
  self:check_process()
  local h = setmetatable(r, Handle)
  h.originatorConversationId = r.ocid
  self.handles[#self.handles + 1] = h
  self:advance(h)
  return h
end

function Queue:collect_token()
  local ok, failure = token.collect(self.core, self.shared, self.fetch)
  if ok ~= nil then return end
  for _, h in ipairs(self.handles) do
    if h.state == "token" then request.no_token(h, failure) end
  end
end

function Queue:collect(h)
  local core = self.core
  if not core:done(h.id) then return end
  local status, body = core:finish(h.id)
  h.id = nil
  if not status then return request.failed(h, body) end
  -- a refused token is dropped once per token, however many requests it failed
  request.answered(h, core, status, body, h.used, h.generation)
end

-- A handle still waiting for a token has sent nothing: it finishes now
-- with an unsent error saying why. Returns true when it did.
function Queue.cancel(_, h, why)
  if h.state ~= "token" then return false end
  request.finish(h, nil, errors.new("network", "not sent: " .. why, { retryable = true,
    outcome = "unsent", originatorConversationId = h.ocid }))
  return true
end

-- The client is closing: answers already complete are read; every other
-- handle finishes with an error, ambiguous when its request may have left.
-- No I/O here: closing must not be what sends a request.
function Queue:abandon()
  local core = self.core
  for _, h in ipairs(self.handles) do
    if h.state == "sending" and core:done(h.id) then self:collect(h) end
  end
  for _, h in ipairs(self.handles) do
    local why = "the client was closed before the request left; it is safe to send again"
    if not self:cancel(h, why) and h.state == "sending" then
      request.finish(h, nil, errors.new("timeout", "the client was closed while the request was in "
        .. "flight; the payout may have gone through: reconcile with Transaction Status by "
        .. "OriginatorConversationID " .. tostring(h.ocid) .. " before any resend",
        { outcome = "ambiguous", originatorConversationId = h.ocid }))
    end
  end
  token.unlock(self.shared, self.fetch)
  self.handles, self.fetch = {}, {}
end

-- Returns the number of handles not done yet.
function Queue:step(timeout)
  self:check_process()
  -- a fetch that ended at the last step's end is read (and reported)
  -- before a request goes with its token
  self:collect_token()
  self:advance_all()
  self.core:step(timeout)
  self:collect_token()
  for _, h in ipairs(self.handles) do
    if h.state == "sending" then self:collect(h) end
  end
  self:advance_all()      -- a token (or a retry) may be ready now
  self.core:step(0)       -- let new requests start connecting
  local pending = {}
  for _, h in ipairs(self.handles) do
    if not h.done then pending[#pending + 1] = h end
  end
  self.handles = pending
  return #pending
end

return polled
