-- The access token a request is sent with: the process cache in the C core
-- (shared by the clients of one app, one fetch at a time), else the
-- tokenStore shared between processes (shared = { store, key, lockSeconds,
-- fallback }), else one fetch, published to the store with its remaining
-- lifetime. Two drivers of the same protocol: ensure (blocking) and poll
-- (nothing waits: polled calls and sendBatch).
--
-- A store that fails (returns nil, err: Redis unreachable) fails the call
-- with kind "store", retryable, nothing sent: a private token would revoke
-- the one the other processes use. With fallback = "local" the call goes on
-- with this process's own token instead.
local now = require("b2c.core").now
local errors = require("b2c.errors")
local about = require("b2c.events").about
local token_error = require("b2c.engine.answer").token_error

local token = {}

-- Events (b2c.events) about the request r that needed the token: a fetch
-- from Daraja that succeeded or failed (latency since `since`), a token
-- taken from the store.
local function fetched(r, since)
  if r and r.emit then about(r, { name = "token.fetched", source = "daraja", latency = now() - since }) end
end

local function fetch_failed(r, since, failure)
  if r and r.emit then
    local e = token_error(failure)
    about(r, { name = "token.failed", kind = e.kind, status = e.status, code = e.code,
      message = e.message, latency = now() - since })
  end
end

local function store_error(e)
  if errors.is(e) then return e end
  return errors.new("store", "token store: " .. tostring(e), { retryable = true, outcome = "unsent" })
end

-- A token from the store, when it holds a usable one: handed to the core
-- (which shares it with this process's clients). A token the gateway has
-- refused is not taken back: the store may still hold it (a deletion waits
-- for no lock another process holds while it fetches). Returns the token,
-- or nil and that stale token, or nil, nil, err when the store failed.
local function import_stored(core, shared, r)
  local t, ttl = shared.store:get(shared.key)
  if t == nil and ttl ~= nil then return nil, nil, store_error(ttl) end
  if type(t) == "string" and t ~= "" and type(ttl) == "number" and ttl > 0 then
    if core:import_token(t, ttl) then
      about(r, { name = "token.fetched", source = "store" })
      return t
    end
    return nil, t
  end
end

-- The core's fresh token, published for the other processes (a store that
-- fails now leaves them to fetch: it is down for them too).
local function publish(core, shared)
  local t, ttl = core:export_token()
  if t and ttl > 0 then shared.store:set(shared.key, t, ttl) end
  return t
end

-- The process's own token, without the store.
local function private(core, r)
  local since = r and r.emit and now()
  local ok, f = core:token()
  if not ok then
    fetch_failed(r, since, f)
    return nil, f
  end
  if f then fetched(r, since) end
  return true
end

-- Blocking: makes sure the core holds a token. Without a store this is
-- core:token(). Returns the token as used (with a store: to delete it from
-- the store if the gateway refuses it) or true, or nil, failure.
function token.ensure(core, shared, r)
  if not shared then return private(core, r) end
  if core:cached_token() then
    -- The very token this client sends, to delete it from the store if it
    -- is refused (never a newer one another thread put there meanwhile).
    return core:export_token() or true
  end
  local t, stale, err = import_stored(core, shared, r)
  if t then return t end
  local store, key = shared.store, shared.key
  -- lock() waits while another process fetches; true when we hold the lock,
  -- false when it timed out or a token other than the stale one appeared.
  local locked, _
  if not err then
    locked, err = store:lock(key, shared.lockSeconds, stale)
    if locked == nil and err ~= nil then err = store_error(err) end
  end
  if not err then t, _, err = import_stored(core, shared, r) end
  if err then
    if locked then store:unlock(key) end
    if shared.fallback == "local" then return private(core, r) end
    return nil, err
  end
  if not t then
    local ok, f = private(core, r)
    if not ok then
      if locked then store:unlock(key) end
      return nil, f
    end
    t = publish(core, shared)
  end
  if locked then store:unlock(key) end
  return t or true
end

-- The token a request is about to be sent with, when it may have to be
-- deleted from the store later (nil without a store).
function token.used(core, shared)
  if shared then return core:export_token() end
end

-- The gateway refused the token `used` (sent as core generation
-- `generation`, nil: the current one): forget it in this process and
-- delete it from the store, only if the store still holds that very token.
-- A store that fails here is left as it is: the token expires there.
function token.refused(core, shared, used, generation)
  if shared and type(used) == "string" then shared.store:delete(shared.key, used) end
  core:drop_token(generation)
end

-- Polled: one look per step, nothing waits. fetch is the queue's state
-- ({ id = fetch in flight, locked = holds the store's lock }). Returns true
-- when the core holds a token, false to look again at the next step, or
-- nil, failure. The lock is taken with the store's tryLock(key, seconds)
-- when it has one; without it the fetch is not serialised across
-- processes (lock() may wait) but its token is still published.
function token.poll(core, shared, fetch, r)
  if core:cached_token() then return true end
  if fetch.id then return false end
  if shared then
    local t, stale, err = import_stored(core, shared, r)
    if t then return true end
    local store, _ = shared.store
    if not err and store.tryLock then
      local got
      got, err = store:tryLock(shared.key, shared.lockSeconds, stale)
      if got == nil and err ~= nil then
        err = store_error(err)
      elseif not got then
        return false
      else
        fetch.locked = true
        t, _, err = import_stored(core, shared, r)
        if t then
          token.unlock(shared, fetch)
          return true
        end
      end
    end
    if err then
      token.unlock(shared, fetch)
      if shared.fallback ~= "local" then return nil, err end
    end
  end
  local since = r and r.emit and now()
  local id, failure = core:start_token()
  if id == nil then
    token.unlock(shared, fetch)
    fetch_failed(r, since, failure)
    return nil, failure
  end
  if id then
    fetch.id, fetch.by, fetch.since = id, r, since
  else
    token.unlock(shared, fetch) -- another client of this app fetches it for the process
  end
  return false
end

function token.unlock(shared, fetch)
  if fetch.locked then
    fetch.locked = false
    shared.store:unlock(shared.key)
  end
end

-- Polled: the fetch under way has ended. Returns true (done, the token
-- published), false (still fetching) or nil, failure.
function token.collect(core, shared, fetch)
  if not (fetch.id and core:done(fetch.id)) then return false end
  local ok, failure = core:finish(fetch.id)
  local by, since = fetch.by, fetch.since
  fetch.id, fetch.by, fetch.since = nil, nil, nil
  -- cached_token() takes the fetched token from the process cache first
  if ok and shared and core:cached_token() then publish(core, shared) end
  token.unlock(shared, fetch)
  if ok then
    fetched(by, since)
    return true
  end
  fetch_failed(by, since, failure)
  return nil, failure
end

return token
