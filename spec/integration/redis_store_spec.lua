-- tokenStore = "redis://host:port/db": the token shared through a real
-- redis-server (started here on a free loopback port); a Redis that cannot
-- be reached fails sends (kind "store", retryable, nothing sent) unless
-- tokenStoreFallback = "local" says otherwise.
local b2c = require("b2c")
local sim = require("support.sim")
local redis = require("support.redis")

local PAYMENT = { recipientPhone = "0708374149", amount = 100, remarks = "redis" }

local function client(s, credential, store, extra)
  local cfg = {
    consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
    initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
    resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere", timeout = 10,
    tokenStore = store,
  }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return b2c.new(cfg)
end

describe("a Redis tokenStore", function()
  local s, r, credential

  setup(function()
    s = sim.start({ callbackDelay = 30 })
    r = redis.start()
    credential = assert(b2c.securityCredential(s.initiatorPassword, s.certificate))
  end)
  teardown(function()
    if s then s:stop() end
    if r then r:stop() end
  end)
  before_each(function()
    s:reset()
    r:cli("FLUSHALL")
  end)

  it("serves blocking sends and sendBatch with one token, kept in Redis", function()
    local a = assert(client(s, credential, r.url))
    assert(a.b2c.send(PAYMENT))
    assert.are.equal(1, s:stats().tokensIssued)
    assert.matches("b2c:token:", r:cli("KEYS 'b2c:token:*'"))
    local b = assert(client(s, credential, { url = r.url, timeout = 2 }))
    local batch = {}
    for i = 1, 20 do batch[i] = PAYMENT end
    local report = assert(b.b2c.sendBatch(batch, { concurrency = 4 }))
    assert.are.equal(20, report.accepted)
    assert.are.equal(1, s:stats().tokensIssued)
    a:close()
    b:close()
  end)

  it("reconnects once when Redis restarted since the connection was made", function()
    local store = assert(require("b2c.redis").store(r.url))
    assert(store:set("k", "a-token", 60))
    r:kill()
    r:launch() -- empty: the token is gone with the old server
    local token, err = store:get("k") -- on the connection made before the restart
    assert.is_nil(err and err.message)
    assert.is_nil(token)
    assert(store:set("k", "b-token", 60))
    assert.are.equal("b-token", (store:get("k")))
    store:close()
  end)

  it("after a revocation, deletes the refused token only while stored and fetches one", function()
    local a = assert(client(s, credential, r.url))
    assert(a.b2c.send(PAYMENT))
    s:revokeTokens()
    assert(a.b2c.send(PAYMENT))
    assert.are.equal(2, s:stats().tokensIssued)
    a:close()
  end)

  it("fails a send with kind store, retryable, nothing sent, when Redis is unreachable", function()
    local down = redis.start({ password = "s3cret-pass" })
    local url = string.format("redis://:s3cret-pass@127.0.0.1:%d/0", down.port)
    down:stop()
    local a = assert(client(s, credential, url))
    local ack, err = a.b2c.send(PAYMENT)
    assert.is_nil(ack)
    assert.are.equal("store", err.kind)
    assert.is_true(err.retryable)
    assert.are.equal("unsent", err.outcome)
    assert.matches("token store: redis at 127.0.0.1:%d+: cannot connect", err.message)
    assert.is_nil(err.message:find("s3cret", 1, true))
    assert.are.equal(0, s:stats().tokensIssued)
    -- polled sends alike
    local report = assert(a.b2c.sendBatch({ PAYMENT, PAYMENT }, { concurrency = 2 }))
    assert.are.equal(0, report.accepted)
    assert.are.equal(0, s:stats().tokensIssued)
    a:close()
    -- the explicit fallback: this process's own token
    local f = assert(client(s, credential, url, { tokenStoreFallback = "local" }))
    assert(f.b2c.send(PAYMENT))
    assert.are.equal(1, s:stats().tokensIssued)
    f:close()
  end)

  it("authenticates with the URL's password and never shows it", function()
    local locked = redis.start({ password = "pa:ss@word" })
    local ok, err = pcall(function()
      local wrong = assert(client(s, credential,
        string.format("redis://:nope-secret@127.0.0.1:%d/0", locked.port)))
      local ack, e = wrong.b2c.send(PAYMENT)
      assert.is_nil(ack)
      assert.are.equal("store", e.kind)
      assert.matches("authentication refused", e.message)
      assert.is_nil(e.message:find("nope-secret", 1, true))
      wrong:close()
      local store = assert(require("b2c.redis").store({
        url = string.format("redis://127.0.0.1:%d/3", locked.port), password = "pa:ss@word" }))
      assert.is_nil(tostring(store):find("pa:ss", 1, true))
      local right = assert(client(s, credential, store))
      assert(right.b2c.send(PAYMENT))
      right:close()
      -- percent-escaped in a URL
      local url = string.format("redis://:pa%%3Ass%%40word@127.0.0.1:%d/3", locked.port)
      local again = assert(client(s, credential, url))
      assert(again.b2c.send(PAYMENT))
      again:close()
      assert.are.equal(1, s:stats().tokensIssued)
    end)
    locked:stop()
    assert(ok, err)
  end)

  it("unlocks only while the lock holds its own fencing value", function()
    local one = assert(require("b2c.redis").store(r.url))
    local two = assert(require("b2c.redis").store(r.url))
    assert.is_true(one:tryLock("k", 0.1))
    assert.is_false(two:tryLock("k", 5))
    require("b2c.redis_core").sleep(0.3) -- one's lock expired
    assert.is_true(two:tryLock("k", 5))
    assert(one:unlock("k"))               -- not one's any more: stays
    assert.is_false(one:tryLock("k", 5))
    assert(two:unlock("k"))
    assert.is_true(one:tryLock("k", 5))
    assert(one:set("k", "t1", 10))
    assert.is_false(two:delete("k", "t0"))
    assert.are.equal("t1", (two:get("k")))
    assert.is_true(two:delete("k", "t1"))
    assert.is_nil(two:get("k"))
  end)

  it("refuses bad settings by name before any connection", function()
    local cases = {
      { "rediss://127.0.0.1:6379/0", "tokenStore", "TLS" },
      { { url = "redis://127.0.0.1/0", tls = true }, "tokenStore", "TLS" },
      { "redis://127.0.0.1:99999/0", "tokenStore", "port" },
      { "redis://user@127.0.0.1/0", "tokenStore", "user:password" },
      { "redis://[::1]:6379", "tokenStore", "host" },
      { { url = "redis://127.0.0.1", timeout = 0 }, "tokenStore.timeout", "seconds" },
      { { url = "redis://127.0.0.1", password = 5 }, "tokenStore.password", "string" },
    }
    for _, c in ipairs(cases) do
      local m, err = client(s, credential, c[1])
      assert.is_nil(m)
      assert.are.equal("config", err.kind)
      assert.are.equal(c[2], err.field)
      assert.matches(c[3], err.message, 1, true)
    end
    local m, err = client(s, credential, r.url, { tokenStoreFallback = "yes" })
    assert.is_nil(m)
    assert.are.equal("tokenStoreFallback", err.field)
    m, err = client(s, credential, nil, { tokenStoreFallback = "local" })
    assert.is_nil(m)
    assert.are.equal("tokenStoreFallback", err.field)
  end)
end)

describe("b2c.redis_core", function()
  it("leaves the Redis password in no freed block (AUTH buffer and its own copy wiped)", function()
    local shell = require("support.shell")
    local r = redis.start({ password = "wipe-me-0123456789" })
    local bin = os.tmpname()
    local built, out = shell.run("cc -std=c99 -D_GNU_SOURCE -Wall -Wextra -Werror "
      .. "-I/usr/include/lua5.4 -o " .. bin .. " spec/c/redis_wipe_test.c -llua5.4")
    local ok, result
    -- its own free() replaces libc's: no sanitizer runtime preloaded under it
    if built then
      ok, result = shell.run("env -u LD_PRELOAD " .. bin .. " 'build/?.so' " .. r.port
        .. " wipe-me-0123456789")
    end
    os.remove(bin)
    r:stop()
    assert.is_true(built, out)
    assert.is_true(ok, result)
    assert.matches("freed blocks holding the password: 0", result)
  end)
end)
