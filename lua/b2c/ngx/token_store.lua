-- b2c.ngx.shared_dict_store(dict_name): a tokenStore for b2c.new on
-- ngx.shared.DICT, shared by every worker process of this nginx: one
-- token, and one worker at a time fetching a new one (the refresh lock).
--
-- luacheck: globals ngx
local errors = require("b2c.errors")
local sleep = require("b2c.ngx.sleep")
local lock_holder = require("b2c.ngx.lock_holder")

local holder_id, holder_alive = lock_holder.id, lock_holder.alive

local TOKEN_PREFIX, LOCK_PREFIX = "b2c:token:", "b2c:lock:"
local LOCK_POLL = 0.02  -- seconds between looks while another worker fetches

-- A lock about to expire is left to expire rather than taken over: replacing
-- it could replace the lock of the next holder, taken once it expired.
local TAKEOVER_MARGIN = 1

-- b2c.ngx.shared_dict_store(dict_name) -> store | nil, err
-- A tokenStore for b2c.new shared by every worker process of this nginx.
local function shared_dict_store(dict_name)
  if type(dict_name) ~= "string" then
    error("b2c.ngx.shared_dict_store: expected the name of a lua_shared_dict, got "
      .. type(dict_name), 2)
  end
  local dict = ngx.shared and ngx.shared[dict_name]
  if not dict then
    return nil, errors.config("tokenStore", "no lua_shared_dict named \"" .. dict_name
      .. "\" (declare it in the http block of nginx.conf)")
  end
  local uuid = require("b2c.core").uuid
  local store = { dict = dict, name = dict_name, held = {} }

  function store.get(_, key)
    local token = dict:get(TOKEN_PREFIX .. key)
    if type(token) ~= "string" then return nil end
    local ttl = dict:ttl(TOKEN_PREFIX .. key)
    if not ttl or ttl <= 0 then return nil end  -- every token is stored with an expiry
    return token, ttl
  end

  function store.set(_, key, token, ttl)
    if type(ttl) ~= "number" or ttl <= 0 then return false end
    -- On failure (the dict is full) each worker fetches its own: logged by nginx.
    return dict:set(TOKEN_PREFIX .. key, token, ttl)
  end

  -- Removes the token only while it is still the stored one. Compare and
  -- delete run under the lock, as every writer does; when a refresh holds the
  -- lock the token is about to be replaced anyway.
  function store.delete(_, key, token)
    local id = holder_id(uuid)
    if not dict:add(LOCK_PREFIX .. key, id, 5) then return false end
    local deleted = dict:get(TOKEN_PREFIX .. key) == token
    if deleted then dict:delete(TOKEN_PREFIX .. key) end
    if dict:get(LOCK_PREFIX .. key) == id then dict:delete(LOCK_PREFIX .. key) end
    return deleted
  end

  -- Replaces the lock `dead`, whose holder died, by `id`. Of all the waiters
  -- that see the same dead holder only the one that adds the key naming it
  -- first does; the holder, being dead, no longer releases it.
  local function take_over(key, dead, id, seconds)
    local ttl = dict:ttl(LOCK_PREFIX .. key)
    if not ttl or ttl < TAKEOVER_MARGIN then return false end
    if not dict:add(LOCK_PREFIX .. key .. " after " .. dead, id, ttl + 1) then return false end
    if dict:get(LOCK_PREFIX .. key) ~= dead then return false end
    return dict:set(LOCK_PREFIX .. key, id, seconds)
  end

  -- Takes the refresh lock for `seconds`. Waits while another worker holds
  -- it: false when a token for key (other than `stale`, one the gateway
  -- refused) appears meanwhile or `seconds` pass, true when this caller
  -- holds it. A lock whose holder died (a worker killed mid-fetch) is taken
  -- over at once rather than left to expire after `seconds`.
  function store.lock(self, key, seconds, stale)
    local id = holder_id(uuid)
    local waited = 0
    while true do
      local ok, err = dict:add(LOCK_PREFIX .. key, id, seconds)
      if ok then
        self.held[key] = id
        return true
      end
      if err ~= "exists" then return false end  -- out of memory: go on without it
      local stored = dict:get(TOKEN_PREFIX .. key)
      if (stored ~= nil and stored ~= stale) or waited >= seconds then return false end
      local holder = dict:get(LOCK_PREFIX .. key)
      if holder and not holder_alive(holder) and take_over(key, holder, id, seconds) then
        self.held[key] = id
        return true
      end
      sleep(LOCK_POLL)
      waited = waited + LOCK_POLL
    end
  end

  -- The lock without waiting, for polled calls (b2c's engine/token.lua):
  -- true when this caller now holds it for `seconds` (a dead holder's is
  -- taken over), false while another worker holds it. Out of memory: true
  -- without a lock, as lock() goes on without it.
  function store.tryLock(self, key, seconds)
    local id = holder_id(uuid)
    local ok, err = dict:add(LOCK_PREFIX .. key, id, seconds)
    if ok then
      self.held[key] = id
      return true
    end
    if err ~= "exists" then return true end
    local holder = dict:get(LOCK_PREFIX .. key)
    if holder and not holder_alive(holder) and take_over(key, holder, id, seconds) then
      self.held[key] = id
      return true
    end
    return false
  end

  -- Releases the lock if this caller still holds it (not after it expired
  -- and another worker took it).
  function store.unlock(self, key)
    local id = self.held[key]
    self.held[key] = nil
    if id and dict:get(LOCK_PREFIX .. key) == id then dict:delete(LOCK_PREFIX .. key) end
  end

  return store
end

return shared_dict_store
