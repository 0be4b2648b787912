-- examples/host/host.c: a C program that embeds Lua 5.4 and pays out with b2c,
-- built as C and as C++ (make host), run against the simulator. Tagged lua54:
-- the programs embed Lua 5.4 whatever Lua runs the specs, so one run is enough.
local shell = require("support.shell")
local sim = require("support.sim")

local HOSTS = { "build/host/b2c-host", "build/host/b2c-host++" }

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

describe("the C host example #lua54", function()
  local s

  setup(function()
    -- A make run from inside `make test` must not inherit its variables.
    local ok, out = shell.run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory host")
    assert(ok, out)
    -- the host pays with the default consumer key
    s = sim.start({ consumerKey = sim.DEFAULTS.consumerKey, args = { "--callback-attempts", "1" } })
  end)
  teardown(function()
    if s then s:stop() end
  end)

  for _, host in ipairs(HOSTS) do
    it(host .. " pays out and prints the acknowledgement", function()
      local ok, out, code = shell.run(table.concat({ host, quote(s.url), quote(s.certificate), quote(sim.root) }, " "))
      assert.are.equal(0, code, out)
      assert.is_true(ok)
      local conversation = out:match("ConversationID (AG_%S+)")
      local ocid = out:match("OriginatorConversationID (%S+)")
      assert.is_not_nil(conversation, out)
      assert.matches("^%x+%-%x+%-4%x+%-%x+%-%x+$", ocid)
      local stats = s:stats()
      assert.are.equal(1, stats.sendsByOcid[ocid])
    end)
  end

  it("exits 1 with the error when the payout fails", function()
    local ok, out, code = shell.run(table.concat({ HOSTS[1], "http://127.0.0.1:1", quote(s.certificate),
      quote(sim.root) }, " "))
    assert.is_false(ok)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("failed (network)", 1, true), out)
  end)

  it("exits 2 when b2c cannot be loaded", function()
    -- Lua's own search paths only name missing places: a copy of b2c
    -- installed system-wide (luarocks make) must not be found instead.
    local _, out, code = shell.run(table.concat({ "env LUA_PATH_5_4='/nonexistent/?.lua'",
      "LUA_CPATH_5_4='/nonexistent/?.so'", HOSTS[2], quote(s.url), quote(s.certificate),
      "/nonexistent" }, " "))
    assert.are.equal(2, code, out)
    assert.truthy(out:find("module 'b2c' not found", 1, true), out)
  end)
end)
