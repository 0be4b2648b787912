-- b2c-sim under more sockets than select() can watch (FD_SETSIZE 1024):
-- 1,100 idle connections held open, and result callbacks to a receiver that
-- never answers. Both processes run with `ulimit -n 4096`, so descriptors
-- above 1023 exist and only the simulator's own caps keep it alive.
local H = require("sim.helper")
local socket = require("socket")
local sim = H.sim

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- A launcher that raises the descriptor limit, then runs Lua.
local function raised_lua()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("#!/bin/sh\nulimit -n 4096 2>/dev/null\nexec lua5.4 \"$@\"\n")
  f:close()
  assert(os.execute("chmod +x " .. q(path)))
  return path
end

-- A process holding `n` connections to port; returns its stdin pipe (close
-- it to let go) and the file where it writes "held N".
local HOLDER = [[
local socket = require("socket")
local port, n = tonumber(arg[1]), tonumber(arg[2])
local held = {}
for _ = 1, n do
  local c = socket.tcp()
  c:settimeout(2)
  if c:connect("127.0.0.1", port) then held[#held + 1] = c else c:close() end
end
io.stdout:write("held ", #held, "\n")
io.stdout:flush()
io.read("a")
]]

local function hold(lua, port, n)
  local script, out = os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(HOLDER)
  f:close()
  local pipe = assert(io.popen(string.format("%s %s %d %d >%s", q(lua), q(script), port, n, q(out)), "w"))
  local deadline = socket.gettime() + 60
  local count
  repeat
    socket.sleep(0.1)
    count = tonumber((require("support.files").read(out) or ""):match("held (%d+)"))
  until count or socket.gettime() > deadline
  os.remove(script)
  os.remove(out)
  return pipe, count
end

describe("b2c-sim past FD_SETSIZE sockets", function()
  local s, lua, blackhole

  setup(function()
    lua = raised_lua()
    local saved = sim.lua
    sim.lua = lua
    s = sim.start({ callbackDelay = 0, callbackAttempts = 1, callbackTimeout = 1, args = { "--log" } })
    sim.lua = saved
    -- accepts connections in the kernel, never answers: every callback
    -- holds its socket for the whole callbackTimeout
    blackhole = assert(socket.bind("127.0.0.1", 0, 1024))
  end)
  teardown(function()
    if s then s:stop() end
    if blackhole then blackhole:close() end
    os.remove(lua)
  end)

  it("holds 1,100 idle connections, keeps serving and loses no callback", function()
    local token = s:token()
    local credential = s:credential()
    local _, bport = blackhole:getsockname()
    local url = "http://127.0.0.1:" .. bport .. "/result"

    local pipe, held = hold(lua, s.port, 1100)
    assert.is_true(held > 1024 - 64, "connections held: " .. tostring(held))

    local n = 200
    for i = 1, n do
      local res = H.post(s, H.PAY, H.payment(s, nil, credential,
        { ResultURL = url, QueueTimeOutURL = url }), token)
      assert.are.equal(200, res.status, "payout " .. i)
    end
    local st = H.settled(s, 60)
    assert.are.equal(n, #st.payouts)
    assert.are.equal(n, st.callbacksTotal)
    for _, c in ipairs(st.callbacks) do
      assert.is_false(c.pending)
      assert.are.equal(1, c.attempts)
    end
    assert.are.equal(1, st.tokensIssued)
    pipe:close()

    -- the same process, its state intact
    st = s:stats()
    assert.are.equal(n, #st.payouts)
    assert.are.equal(200, H.post(s, H.PAY, H.payment(s, nil, credential), token).status)
    assert.matches("at capacity", s:stderr())
  end)
end)
