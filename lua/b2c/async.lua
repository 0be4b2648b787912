-- Payouts driven by polling, for hosts that cannot block (game loops,
-- other event loops): start returns a handle at once; step does the I/O
-- that is ready and never waits longer than asked. Each handle is a small
-- state machine: token -> sending -> done, with the same single retry on
-- an invalid token as the blocking send, and the same ack / err.
local errors = require("b2c.errors")
local gateway = require("b2c.gateway")

local Handle = {}
Handle.__index = Handle

-- handle:result() -> ack | nil, err; raises when called before done.
function Handle:result()
  if not self.done then error("b2c: result() before the payout is done", 2) end
  return self.ack, self.err
end

local Queue = {}
Queue.__index = Queue

local async = {}

function async.new(core)
  return setmetatable({ core = core, handles = {}, fetch = nil, pid = core:pid() }, Queue)
end

local function finish(h, ack, err)
  h.done, h.ack, h.err, h.state = true, ack, err, "done"
  local kept = ack or err
  if kept then kept.reference = h.reference end
end

-- A handle waiting for a token: send when one is cached, else make sure
-- one fetch is under way (one per app in the whole process).
function Queue:advance(h)
  local core = self.core
  if core:cached_token() then
    local id, generation = core:start_post(h.path, h.body, true)
    if not id then return finish(h, nil, gateway.transport_error(generation, h.ctx)) end
    h.id, h.generation, h.state = id, generation, "sending"
    return
  end
  if self.fetch then return end
  local id, failure = core:start_token()
  if id == nil then return finish(h, nil, gateway.token_error(failure)) end
  if id then self.fetch = id end -- false: another client of the app is fetching
end

-- After fork() the child holds copies of the parent's handles, and the
-- parent sends them: the child must not. Those already sending end through
-- the core (it fails them); those still waiting for a token end here.
function Queue:check_process()
  local pid = self.core:pid()
  local parent = self.pid
  if pid == parent then return end
  self.pid = pid
  for _, h in ipairs(self.handles) do
    if h.state == "token" then
      finish(h, nil, errors.new("timeout", "started before fork() by process " .. parent
        .. ", which sends it; this process does not: reconcile by OriginatorConversationID "
        .. tostring(h.ctx.ocid), { originatorConversationId = h.ctx.ocid, retryable = false }))
    end
  end
end

function Queue:start(path, body, ctx)
  self:check_process()
  local h = setmetatable({ done = false, originatorConversationId = ctx.ocid, state = "token",
    path = path, body = body, ctx = ctx, attempt = 1, reference = ctx.reference }, Handle)
  self.handles[#self.handles + 1] = h
  self:advance(h)
  return h
end

function Queue:collect_token()
  local core = self.core
  if not (self.fetch and core:done(self.fetch)) then return end
  local ok, failure = core:finish(self.fetch)
  self.fetch = nil
  if ok then return end
  for _, h in ipairs(self.handles) do
    if h.state == "token" then finish(h, nil, gateway.token_error(failure)) end
  end
end

function Queue:collect(h)
  local core = self.core
  if not core:done(h.id) then return end
  local status, body = core:finish(h.id)
  h.id = nil
  if not status then return finish(h, nil, gateway.transport_error(body, h.ctx)) end
  local ack, err = gateway.interpret(status, body, h.ctx)
  if not ack and h.attempt == 1 and gateway.is_invalid_token(err) then
    core:drop_token(h.generation) -- once per token, however many requests it failed
    h.attempt, h.state = 2, "token"
    return
  end
  if ack then ack.OriginatorConversationID = ack.OriginatorConversationID or h.ctx.ocid end
  finish(h, ack, err)
end

local function each_in(handles, state, fn)
  for _, h in ipairs(handles) do
    if h.state == state then fn(h) end
  end
end

-- A handle still waiting for a token has sent nothing: it finishes now
-- with an unsent error saying why. Returns true when it did.
function Queue.cancel(_, h, why)
  if h.state ~= "token" then return false end
  finish(h, nil, errors.new("network", "not sent: " .. why, { retryable = true,
    outcome = "unsent", originatorConversationId = h.ctx.ocid }))
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
      finish(h, nil, errors.new("timeout", "the client was closed while the request was in "
        .. "flight; the payout may have gone through: reconcile with Transaction Status by "
        .. "OriginatorConversationID " .. tostring(h.ctx.ocid) .. " before any resend",
        { outcome = "ambiguous", originatorConversationId = h.ctx.ocid }))
    end
  end
  self.handles, self.fetch = {}, nil
end

-- Returns the number of handles not done yet.
function Queue:step(timeout)
  self:check_process()
  local advance = function(h) self:advance(h) end
  each_in(self.handles, "token", advance)
  self.core:step(timeout)
  self:collect_token()
  each_in(self.handles, "sending", function(h) self:collect(h) end)
  each_in(self.handles, "token", advance) -- a token (or a retry) may be ready now
  self.core:step(0)                       -- let new requests start connecting
  local pending = {}
  for _, h in ipairs(self.handles) do
    if not h.done then pending[#pending + 1] = h end
  end
  self.handles = pending
  return #pending
end

return async
