-- A name that never resolves: timeout and connectTimeout bound the wait,
-- and step(0) never blocks on the resolver. The resolver is our own
-- (spec/c/slow_resolver.c, linked into a small Lua 5.4 host): no DNS query
-- ever leaves the machine. #lua54: the host loads the 5.4 core.
local shell = require("support.shell")

local function core_cpath()
  for dir in package.cpath:gmatch("([^;]*)%?%.so") do
    local f = io.open(dir .. "b2c/core.so", "rb")
    if f then f:close() return dir .. "?.so" end
  end
  error("b2c/core.so not found on package.cpath")
end

describe("#lua54 slow DNS", function()
  it("is bounded by timeout and connectTimeout, and step(0) does not wait for it", function()
    local host = os.tmpname()
    local built, out = shell.run("cc -std=c99 -D_POSIX_C_SOURCE=200809L -DSLOW_RESOLVER -Wall "
      .. "-Wextra -Werror $(pkg-config --cflags lua5.4) -Wl,--export-dynamic -o " .. host
      .. " spec/c/lua_fork_host.c spec/c/slow_resolver.c $(pkg-config --libs lua5.4) -ldl")
    assert.is_true(built, out)
    local ok
    ok, out = shell.run(string.format("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s;;' "
      .. "timeout 120 %s spec/c/slow_dns.lua spec/fixtures/sim/sim-cert.pem", core_cpath(), host))
    os.remove(host)
    assert.is_true(ok, out)
    local facts = {}
    for name, value in out:gmatch("(%S+)\t([^\n]*)") do facts[name] = value end
    assert.is_true(tonumber(facts.lookups) >= 1, out) -- our resolver answered (by not answering)
    -- 1 s each; the resolver would hold them 5 s
    assert.is_true(tonumber(facts["send-seconds"]) < 3, out)
    assert.is_true(tonumber(facts["polled-seconds"]) < 3, out)
    assert.is_true(tonumber(facts["longest-step"]) < 0.5, out)
    assert.are.equal("timeout", facts["send-kind"], out)
    assert.are.equal("timeout", facts["polled-kind"], out)
  end)
end)
