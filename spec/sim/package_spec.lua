-- b2c-sim as its own rock: rockspec/b2c-sim-scm-1.rockspec lists every
-- module of sim/, the SDK rock carries nothing of the simulator, and the
-- two rocks installed into one tree give a b2c-sim that serves.
local sim = require("support.sim")
local shell = require("support.shell")
local H = require("sim.helper")

local ROOT = sim.root

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The rockspec's variables (it is Lua assignments).
local function rockspec(name)
  local env = {}
  local f = assert(io.open(ROOT .. "/rockspec/" .. name))
  local text = f:read("a")
  f:close()
  assert(load(text, name, "t", env))()
  return env
end

local function lines(cmd)
  local ok, out = shell.run(cmd)
  assert(ok, out)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    list[#list + 1] = line
  end
  table.sort(list)
  return list
end

describe("b2c-sim package", function()
  it("its rockspec installs every file under sim/lua/b2c/sim, as its module", function()
    local spec = rockspec("b2c-sim-scm-1.rockspec")
    local listed = {}
    for module, file in pairs(spec.build.modules) do
      local expected = file:match("^sim/lua/(.*)%.lua$"):gsub("/init$", ""):gsub("/", ".")
      assert.are.equal(expected, module)
      listed[#listed + 1] = file
    end
    table.sort(listed)
    assert.are.same(lines("cd " .. q(ROOT) .. " && find sim/lua -name '*.lua'"), listed)
    assert.are.same({ ["b2c-sim"] = "sim/bin/b2c-sim" }, spec.build.install.bin)
    assert.are.equal("lua >= 5.4", spec.dependencies[1])
  end)

  it("the SDK rock has no simulator module, command or luasocket", function()
    local spec = rockspec("b2c-scm-1.rockspec")
    for module in pairs(spec.build.modules) do
      assert.is_nil(module:match("^b2c%.sim"), module)
    end
    assert.is_nil(spec.build.install.bin["b2c-sim"])
    for _, dep in ipairs(spec.dependencies) do
      assert.is_nil(dep:match("^luasocket"), dep)
    end
    assert.are.equal("lua >= 5.1", spec.dependencies[1])
  end)

  it("#lua54 installed beside the SDK rock, b2c-sim starts, issues tokens and checks credentials", function()
    local dir = os.tmpname()
    os.remove(dir)
    local later = require("support.cleanup")(finally)
    later(function() os.execute("rm -rf " .. q(dir)) end)
    local tree = dir .. "/tree"
    -- built from a copy: luarocks make leaves objects where it builds; a
    -- sanitizer runtime preloaded for the specs (make asan) is not for the
    -- compiler
    local ok, out = shell.run(table.concat({
      "unset LD_PRELOAD",
      "mkdir -p " .. q(dir .. "/src"),
      "cd " .. q(ROOT),
      "cp -r rockspec csrc lua bin sim " .. q(dir .. "/src"),
      "cd " .. q(dir .. "/src"),
      "luarocks --lua-version=5.4 --tree=" .. q(tree) .. " make --deps-mode=none rockspec/b2c-scm-1.rockspec"
        .. " CURL_INCDIR=/usr/include/x86_64-linux-gnu OPENSSL_INCDIR=/usr/include",
      "luarocks --lua-version=5.4 --tree=" .. q(tree) .. " make --deps-mode=none rockspec/b2c-sim-scm-1.rockspec",
    }, " && "))
    assert(ok, out)
    local lua_path = tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua;;"
    local s = sim.start({
      command = "cd / && env LUA_PATH=" .. q(lua_path) .. " LUA_CPATH=" .. q(tree .. "/lib/lua/5.4/?.so;;")
        .. " " .. q(tree .. "/bin/b2c-sim"),
    })
    later(function() s:stop() end)
    local token = s:token()
    local res = H.post(s, H.PAY, H.payment(s, nil, s:credential()), token)
    assert.are.equal(200, res.status, res.body)
    local st = s:stats()
    assert.are.equal("b2c.core", st.credentialEngine)
    assert.is_true(st.payouts[1].credentialValid)

    -- a plain Lua test, outside the source tree, receives the result
    -- callback with the installed rock's receiver
    local script = dir .. "/receive.lua"
    local f = assert(io.open(script, "w"))
    f:write([[
local receiver = require("b2c.sim.receiver")
print(package.searchpath("b2c.sim.receiver", package.path))
local r = receiver.new()
print(r.url)
io.stdout:flush()
local got = r:wait(1, 20)
print(got[1] and got[1].body.Result.OriginatorConversationID or "nothing received")
r:close()
]])
    f:close()
    local p = assert(io.popen("cd / && env LUA_PATH=" .. q(lua_path)
      .. " LUA_CPATH=" .. q(tree .. "/lib/lua/5.4/?.so;;") .. " lua5.4 " .. q(script) .. " 2>&1"))
    local from = p:read("l")
    local url = p:read("l")
    assert.are.equal(tree .. "/share/lua/5.4/b2c/sim/receiver.lua", from)
    local body = H.payment(s, nil, s:credential(),
      { OriginatorConversationID = "installed-receiver-1", ResultURL = url })
    res = H.post(s, H.PAY, body, token)
    assert.are.equal(200, res.status, res.body)
    local seen = p:read("l")
    p:close()
    assert.are.equal("installed-receiver-1", seen)
  end)
end)
