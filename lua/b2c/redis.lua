-- A tokenStore on Redis: one OAuth token for every process on every machine
-- of a fleet (Daraja keeps one valid token per app; each new one revokes
-- the last). b2c.new{ tokenStore = "redis://..." } makes one with
-- b2c.redis.store; the C client is b2c.redis_core (hiredis).
--
--   redis://[[username]:password@]host[:port][/db]     (port 6379, db 0)
--   { url = "redis://host:port/db", username = ..., password = ...,
--     timeout = seconds (connect and each command; default 1) }
--
-- Keys: b2c:token:<key> (the token, expiring with it) and b2c:lock:<key>
-- (a fetch's lock: a random fencing value, expiring after `seconds`).
-- A failure to reach Redis is `nil, err` (kind "store", retryable) from
-- every method (get() too: nil alone means no token is stored).
local errors = require("b2c.errors")

local M = {}

local TOKEN, LOCK = "b2c:token:", "b2c:lock:"
-- Compare and delete, in one step on the server.
local DEL_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then"
  .. " return redis.call('DEL', KEYS[1]) end return 0"
local GET_TTL = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}"
local WAIT = 0.05 -- seconds between looks while another process holds the lock
local DEFAULT_TIMEOUT = 1

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- "redis://..." -> { host, port, db, username, password } or nil, rule.
local function parse(url)
  local scheme, rest = url:match("^(%a+)://(.*)$")
  if scheme == "rediss" then
    return nil, "TLS (rediss://) needs hiredis 1.0 with TLS; Debian's libhiredis 0.14 has"
      .. " none: reach Redis through a TLS tunnel (stunnel, spiped) on 127.0.0.1"
  end
  if scheme ~= "redis" then return nil, "must be a redis://host:port/db URL" end
  local r = {}
  local auth, hostpart = rest:match("^(.*)@([^@]*)$")
  if auth then
    local user, pass = auth:match("^([^:]*):(.*)$")
    if not user then return nil, "credentials must be written user:password@ or :password@" end
    r.username = user ~= "" and unescape(user) or nil
    r.password = unescape(pass)
  else
    hostpart = rest
  end
  local host, port, db = hostpart:match("^([%w%.%-]+):?(%d*)/?(%d*)$")
  if not host then return nil, "must be redis://host[:port][/db] (host: a name or IPv4 address)" end
  r.host, r.port, r.db = host, tonumber(port) or 6379, tonumber(db) or 0
  if r.port < 1 or r.port > 65535 then return nil, "port must be 1 to 65535" end
  return r
end

local function failure(message)
  return errors.new("store", "token store: " .. message, { retryable = true, outcome = "unsent" })
end

-- b2c.redis.store(url | options) -> store | nil, err (kind "config").
-- No connection is made yet: a Redis that is down fails the first send.
function M.store(spec)
  local options = type(spec) == "table" and spec or { url = spec }
  if type(options.url) ~= "string" then
    return nil, errors.config("tokenStore", "must be a redis:// URL or a table with url")
  end
  local r, rule = parse(options.url)
  if not r then return nil, errors.config("tokenStore", rule) end
  if options.tls then return nil, errors.config("tokenStore", select(2, parse("rediss://"))) end
  for _, f in ipairs({ "username", "password" }) do
    if options[f] ~= nil then
      if type(options[f]) ~= "string" then
        return nil, errors.config("tokenStore." .. f, "must be a string")
      end
      r[f] = options[f]
    end
  end
  local timeout = options.timeout or DEFAULT_TIMEOUT
  if type(timeout) ~= "number" or timeout <= 0 or timeout > 60 then
    return nil, errors.config("tokenStore.timeout", "must be a number of seconds, above 0 and at most 60")
  end
  local ok, rc = pcall(require, "b2c.redis_core")
  if not ok then
    return nil, errors.config("tokenStore", "redis:// needs the b2c.redis_core module, built"
      .. " where hiredis is installed (Debian: libhiredis-dev)")
  end
  local conn = rc.open(r.host, r.port, r.db, r.username, r.password, timeout)
  local name = string.format("b2c.redis store (%s:%d/%d)", r.host, r.port, r.db)
  local store = { held = {} }

  local function call(...)
    local done, reply = conn:call(...)
    if not done then return nil, failure(reply) end
    return true, reply
  end

  -- token, seconds left | nil (none stored) | nil, err
  function store.get(_, key)
    local ok2, reply = call("EVAL", GET_TTL, "1", TOKEN .. key)
    if not ok2 then return nil, reply end
    local t, ms = reply[1], reply[2]
    if type(t) == "string" and t ~= "" and type(ms) == "number" and ms > 0 then
      return t, ms / 1000
    end
  end

  function store.set(_, key, token, ttl)
    local ms = math.floor(ttl * 1000)
    if ms < 1 then return true end
    local ok2, err = call("SET", TOKEN .. key, token, "PX", tostring(ms))
    if not ok2 then return nil, err end
    return true
  end

  -- Removes the token only while it is still the stored one.
  function store.delete(_, key, token)
    local ok2, reply = call("EVAL", DEL_IF, "1", TOKEN .. key, token)
    if not ok2 then return nil, reply end
    return reply == 1
  end

  -- Takes the lock without waiting: true, false (held elsewhere) or nil, err.
  function store.tryLock(self, key, seconds)
    local fence = require("b2c.core").uuid()
    local ms = tostring(math.max(1, math.floor(seconds * 1000)))
    local ok2, reply = call("SET", LOCK .. key, fence, "NX", "PX", ms)
    if not ok2 then return nil, reply end
    if reply ~= "OK" then return false end
    self.held[key] = fence
    return true
  end

  -- Waits while another process holds the lock: true when taken; false
  -- when `seconds` passed or a token other than `stale` was stored meanwhile.
  function store.lock(self, key, seconds, stale)
    local waited = 0
    while true do
      local got, err = self:tryLock(key, seconds)
      if got then return true end
      if got == nil then return nil, err end
      local t, gerr = self:get(key)
      if t == nil and gerr ~= nil then return nil, gerr end
      if (t ~= nil and t ~= stale) or waited >= seconds then return false end
      rc.sleep(WAIT)
      waited = waited + WAIT
    end
  end

  -- Releases the lock only while it still holds our fencing value (it may
  -- have expired and been taken by another process).
  function store.unlock(self, key)
    local fence = self.held[key]
    self.held[key] = nil
    if not fence then return true end
    local ok2, err = call("EVAL", DEL_IF, "1", LOCK .. key, fence)
    if not ok2 then return nil, err end
    return true
  end

  function store.close() conn:close() end

  return setmetatable(store, { __tostring = function() return name end, __metatable = name })
end

-- Is this tokenStore setting a Redis one (a URL, or a table with url)?
function M.is_spec(spec)
  local url = type(spec) == "table" and getmetatable(spec) == nil and spec.url or spec
  return type(url) == "string" and url:match("^rediss?://") ~= nil
end

return M
