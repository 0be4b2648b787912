-- A fleet on one Redis: 4 processes ("machines"), each paying out with a
-- polled sendBatch and blocking sends, and an nginx with 2 workers paying
-- out through b2c.ngx's thread pool, against one simulator and a real
-- redis-server on loopback. One token for the fleet; after a revocation,
-- one more; with Redis killed, clear "store" errors and no fetches; after
-- Redis restarts (empty), one more token and payouts again.
local b2c = require("b2c")
local files = require("support.files")
local redis = require("support.redis")
local nginx = require("support.nginx")
local socket = require("socket")
local json = require("cjson.safe")

local MACHINES = 4

-- Waits until check() holds or `seconds` pass; returns check()'s last value.
local function eventually(seconds, check)
  local deadline = socket.gettime() + seconds
  local v = check()
  while not v and socket.gettime() < deadline do
    socket.sleep(0.1)
    v = check()
  end
  return v
end

describe("a fleet of processes on one Redis tokenStore #fleet", function()
  local s, r, n, dir

  setup(function()
    local credential
    s, credential = nginx.simulator({ callbackDelay = 60 })
    r = redis.start()
    -- Under make asan (a sanitizer preloaded) spec/support/nginx cannot run:
    -- the machines alone then.
    if not (os.getenv("LD_PRELOAD") or ""):find("san") then
      n = nginx.start_app(s, credential, { workers = 2, threads = 8, vmPool = 64, redisUrl = r.url })
    end
    dir = files.tempdir()
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
    if r then r:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("fetches one token, one per revocation and one after Redis comes back", function()
    local credential = assert(b2c.securityCredential(s.initiatorPassword, s.certificate))
    local stop = dir .. "/stop"
    local children = {}
    for i = 1, MACHINES do
      children[i] = assert(io.popen(string.format("LD_PRELOAD= LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' "
        .. "LUA_CPATH='build/?.so;;' lua5.4 spec/support/redis_machine.lua %s %s %s %s %s %s",
        s.url, s.consumerKey, s.consumerSecret, credential, r.url, stop)))
    end
    local function stats() return s:stats() end
    local function payments() return stats().requests["/mpesa/b2c/v3/paymentrequest"] or 0 end
    local function progressed(count)
      local from = payments()
      return eventually(60, function() return payments() >= from + count end)
    end
    -- 40 payouts at once through nginx: { ok = n, store = n, other = n }
    local bursts = 0
    local function burst()
      if not n then return nil end
      bursts = bursts + 1
      local paths = {}
      for i = 1, 40 do paths[i] = string.format("/pay?store=redis&ocid=fleet-%d-%d", bursts, i) end
      local counts = { ok = 0, store = 0, other = 0 }
      for _, res in ipairs(n:concurrently("GET", paths, 30)) do
        local got = json.decode(res.body or "") or {}
        local k = got.ok and "ok" or (got.err and got.err.kind == "store") and "store" or "other"
        counts[k] = counts[k] + 1
        if k == "other" then counts.first = counts.first or res.body end
      end
      return counts
    end
    local seen = {}
    local ok, err = pcall(function()
      -- 1. every machine starts at once
      assert(progressed(200), "the fleet pays out")
      seen.start = burst()
      local started = stats().tokensIssued
      -- 2. revoked mid-run
      s:revokeTokens()
      assert(progressed(200), "the fleet pays out after the revocation")
      seen.revoked = burst()
      local revoked = stats().tokensIssued
      -- 3. Redis killed, then the token revoked: nobody may fetch a private one
      r:kill()
      local t0 = socket.gettime()
      s:revokeTokens()
      socket.sleep(1)
      seen.down = burst()
      socket.sleep(1)
      local down = stats().tokensIssued
      -- 4. Redis back (empty)
      r:launch()
      assert(progressed(200), "the fleet pays out after Redis is back")
      local recovered = socket.gettime() - t0
      seen.back = burst()
      local after = stats().tokensIssued
      print(string.format("\n    %d machines%s: tokens fetched at start %d, after a revocation %d, "
        .. "with Redis down and a revocation %d, after Redis restarted %d (%.1f s from the kill)",
        MACHINES, n and " + nginx" or "", started, revoked - started, down - revoked, after - down, recovered))
      assert.are.equal(1, started)
      assert.are.equal(1, revoked - started)
      assert.are.equal(0, down - revoked)
      assert.are.equal(1, after - down)
      if not n then return end
      for _, phase in ipairs({ "start", "revoked", "down", "back" }) do
        local c = seen[phase]
        print(string.format("    nginx (2 workers), 40 payouts at once, %-7s: %d paid, %d kind store, "
          .. "%d other", phase, c.ok, c.store, c.other))
      end
      for _, phase in ipairs({ "start", "revoked", "back" }) do
        assert.are.equal(40, seen[phase].ok, seen[phase].first)
      end
      assert.are.equal(0, seen.down.other, seen.down.first)
    end)
    assert(io.open(stop, "wb")):close()
    local totals = { accepted = 0, store = 0, other = 0 }
    for i, child in ipairs(children) do
      local out = child:read("*a")
      child:close()
      local a, st, o = out:match("accepted (%d+) store (%d+) other (%d+)")
      assert(a, "machine " .. i .. ": " .. out)
      totals.accepted = totals.accepted + tonumber(a)
      totals.store = totals.store + tonumber(st)
      totals.other = totals.other + tonumber(o)
      if tonumber(o) > 0 then print("    machine " .. i .. ": " .. out) end
    end
    print(string.format("    payouts accepted %d, refused with kind store while Redis was down %d, "
      .. "other errors %d", totals.accepted, totals.store, totals.other))
    assert(ok, err)
    assert.is_true(totals.store > 0, "store errors while Redis was down")
    assert.are.equal(0, totals.other)
  end)
end)
