-- A client used on both sides of a real fork() (a pre-fork server, a worker
-- pool): each process gets its own answers, the child never shuts down the
-- parent's TLS session, and what the parent started is the parent's.
-- spec/c/lua_fork_host.c is a small Lua 5.4 host that gives a script
-- fork(); spec/c/fork_clients.lua is the script. #lua54: it loads the 5.4 core.
local sim = require("support.sim")
local shell = require("support.shell")
local tls_proxy = require("support.tls_proxy")


-- The core this busted run loads (build/, build/asan/ ...), for the host.
local function core_cpath()
  for dir in package.cpath:gmatch("([^;]*)%?%.so") do
    local f = io.open(dir .. "b2c/core.so", "rb")
    if f then f:close() return dir .. "?.so" end
  end
  error("b2c/core.so not found on package.cpath")
end

describe("#lua54 a client across fork()", function()
  local s, host

  setup(function()
    host = os.tmpname()
    local built, out = shell.run("cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror "
      .. "$(pkg-config --cflags lua5.4) -o " .. host .. " spec/c/lua_fork_host.c "
      .. "$(pkg-config --libs lua5.4)")
    assert.is_true(built, out)
    s = sim.start({ callbackDelay = 30 })
  end)
  teardown(function()
    if s then s:stop() end
    os.remove(host)
  end)
  before_each(function() s:reset() end)

  -- facts[who][name] = value, and facts[who].other = list of wrong outcomes
  local function run(mode, url, ca_file)
    local ok, out = shell.run(string.format("LUA_PATH='lua/?.lua;lua/?/init.lua;;' "
      .. "LUA_CPATH='%s;;' timeout 120 %s spec/c/fork_clients.lua %s %s %s %s '%s' %s %s",
      core_cpath(), host, mode, url, s.consumerKey, s.consumerSecret, s.initiatorPassword,
      s.certificate, ca_file or ""))
    assert.is_true(ok, out)
    local facts = { parent = { other = {} }, child = { other = {} } }
    for who, name, value in out:gmatch("(%a+) (%S+) ([^\n]*)") do
      if facts[who] then
        if name == "other" then
          table.insert(facts[who].other, value)
        else
          facts[who][name] = value
        end
      end
    end
    return facts, out
  end

  it("gives each process the answers to its own payouts", function()
    local facts, out = run("blocking", s.url)
    assert.are.same({}, facts.parent.other, out)
    assert.are.same({}, facts.child.other, out)
    assert.are.equal("10", facts.parent.own, out)
    assert.are.equal("10", facts.child.own, out)
    assert.are.equal("0", facts.parent["child-exit"], out)
    assert.are.equal("3", facts.parent.after, out)
    for ocid, n in pairs(s:stats().sendsByOcid) do assert.are.equal(1, n, ocid) end
    assert.are.equal(24, #s:stats().payouts)
    assert.are.equal(1, s:stats().tokensIssued) -- the child kept the parent's token
  end)

  describe("over https", function()
    local proxy

    setup(function()
      proxy = tls_proxy.start(s.port)
    end)
    teardown(function()
      if proxy then proxy:stop() end
    end)

    local function connections()
      local n = 0
      for line in io.lines(proxy.log) do
        if line:find("accepting connection", 1, true) then n = n + 1 end
      end
      return n
    end

    it("a child closing its copy leaves the parent's TLS session alone", function()
      local before = connections()
      local facts, out = run("close", "https://localhost:" .. proxy.port, "spec/fixtures/tls/ca.pem")
      assert.are.same({}, facts.parent.other, out)
      assert.are.equal("2", facts.parent.after, out)
      -- one connection: the warm-up's, still serving the parent after the child left
      assert.are.equal(1, connections() - before, out)
    end)

    it("both processes pay on their own connections", function()
      local facts, out = run("blocking", "https://localhost:" .. proxy.port, "spec/fixtures/tls/ca.pem")
      assert.are.same({}, facts.parent.other, out)
      assert.are.same({}, facts.child.other, out)
      assert.are.equal("10", facts.child.own, out)
      assert.are.equal("3", facts.parent.after, out)
    end)
  end)

  it("ends the parent's polled payout in the child with a failure, never sends it there", function()
    local facts, out = run("polled", s.url)
    assert.are.equal("ack", facts.parent.polled, out)
    assert.are.equal("timeout", facts.child.polled, out) -- ambiguous: the parent has it
    assert.are.equal("2", facts.child.own, out)
    for ocid, n in pairs(s:stats().sendsByOcid) do assert.are.equal(1, n, ocid) end
  end)

  it("does not wait in the child for a token fetch the parent started", function()
    local facts, out = run("token", s.url)
    assert.are.equal("1", facts.child.own, out)
    assert.is_true(tonumber(facts.child.seconds) <= 2, out)
    assert.are.equal("timeout", facts.child.polled, out) -- the parent's payout: not sent here
    assert.are.equal("ack", facts.parent.polled, out)
    -- Each process's token replaces the other's (as on Daraja): a payout
    -- sent with the older one is refused unprocessed and sent again with
    -- a fresh one, never paid twice.
    local paid = {}
    for _, p in ipairs(s:stats().payouts) do
      assert.is_nil(paid[p.ocid], p.ocid)
      paid[p.ocid] = true
    end
    assert.are.equal(2, #s:stats().payouts)
  end)
end)
