-- A fleet on one Redis: 4 processes ("machines"), each paying out with a
-- polled sendBatch and blocking sends, against one simulator and a real
-- redis-server on loopback. One token for the fleet; after a revocation,
-- one more; with Redis killed, clear "store" errors and no fetches; after
-- Redis restarts (empty), one more token and payouts again.
local b2c = require("b2c")
local sim = require("support.sim")
local redis = require("support.redis")
local socket = require("socket")

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

describe("a fleet of processes on one Redis tokenStore", function()
  local s, r, dir

  setup(function()
    s = sim.start({ callbackDelay = 60 })
    r = redis.start()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
  end)
  teardown(function()
    if s then s:stop() end
    if r then r:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("fetches one token, one per revocation and one after Redis comes back", function()
    local credential = assert(b2c.securityCredential(s.initiatorPassword, s.certificate))
    local stop = dir .. "/stop"
    local children = {}
    for i = 1, MACHINES do
      children[i] = assert(io.popen(string.format("LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' "
        .. "LUA_CPATH='build/?.so;;' lua5.4 spec/support/redis_machine.lua %s %s %s %s %s %s",
        s.url, s.consumerKey, s.consumerSecret, credential, r.url, stop)))
    end
    local function stats() return s:stats() end
    local function payments() return stats().requests["/mpesa/b2c/v3/paymentrequest"] or 0 end
    local function progressed(n)
      local from = payments()
      return eventually(60, function() return payments() >= from + n end)
    end
    local ok, err = pcall(function()
      -- 1. every machine starts at once
      assert(progressed(200), "the fleet pays out")
      local started = stats().tokensIssued
      -- 2. revoked mid-run
      s:revokeTokens()
      assert(progressed(200), "the fleet pays out after the revocation")
      local revoked = stats().tokensIssued
      -- 3. Redis killed, then the token revoked: nobody may fetch a private one
      r:kill()
      local t0 = socket.gettime()
      s:revokeTokens()
      socket.sleep(2)
      local down = stats().tokensIssued
      -- 4. Redis back (empty)
      r:launch()
      assert(progressed(200), "the fleet pays out after Redis is back")
      local recovered = socket.gettime() - t0
      local after = stats().tokensIssued
      print(string.format("\n    %d machines: tokens fetched at start %d, after a revocation %d, "
        .. "with Redis down and a revocation %d, after Redis restarted %d (%.1f s from the kill)",
        MACHINES, started, revoked - started, down - revoked, after - down, recovered))
      assert.are.equal(1, started)
      assert.are.equal(1, revoked - started)
      assert.are.equal(0, down - revoked)
      assert.are.equal(1, after - down)
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
