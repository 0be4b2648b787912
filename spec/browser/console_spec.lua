-- The simulator's console in a real browser: headless Chromium (Debian's
-- chromium) driven by playwright-core (package.json; `npm ci` installs it,
-- .ci/run does) through spec/browser/console.js. The page must show a
-- payout as it arrives and its "send a queue timeout" button must make the
-- simulator deliver the queue-timeout callback.
local sim = require("support.sim")
local H = require("sim.helper")
local socket = require("socket")
local read_file = require("support.files").read

local ROOT = sim.root
local CHROMIUM = os.getenv("CHROMIUM") or "/usr/bin/chromium"

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- Is any process of group pgid alive?
local function group_alive(pgid)
  return os.execute("kill -0 -" .. pgid .. " 2>/dev/null") == true
end

-- Stop node and the Chromium it started (their own process group), and
-- wait until every one of them is gone.
local function stop_group(pgid)
  os.execute("kill -TERM -" .. pgid .. " 2>/dev/null")
  local deadline = socket.gettime() + 5
  while group_alive(pgid) and socket.gettime() < deadline do
    socket.sleep(0.05)
  end
  if group_alive(pgid) then
    os.execute("kill -KILL -" .. pgid .. " 2>/dev/null")
    deadline = socket.gettime() + 5
    while group_alive(pgid) and socket.gettime() < deadline do
      socket.sleep(0.05)
    end
  end
  assert(not group_alive(pgid), "the browser's processes (group " .. pgid .. ") did not stop")
end

describe("#lua54 the simulator console in Chromium", function()
  it("shows a payout as it arrives and sends its queue timeout on a click", function()
    assert(exists(CHROMIUM), "no Chromium at " .. CHROMIUM .. ": sh scripts/deps.sh test installs Debian's chromium")
    assert(exists(ROOT .. "/node_modules/playwright-core/package.json"),
      "playwright-core is not installed: run `npm ci` at the repository root (.ci/run does)")

    -- the result waits 600 s: only the click can bring a callback in time
    local later = require("support.cleanup")(finally)
    local s = sim.start({ callbackDelay = 600, args = { "--console-port", "0" } })
    later(function() s:stop() end)
    local r = sim.receiver()
    later(function() r:close() end)
    local console_url
    local deadline = socket.gettime() + 5
    while not console_url and socket.gettime() < deadline do
      console_url = (read_file(s.outFile) or ""):match("b2c%-sim console on (http://%S+)")
      if not console_url then socket.sleep(0.02) end
    end
    assert(console_url, "b2c-sim printed no console line")

    local out, err = os.tmpname(), os.tmpname()
    later(function() os.remove(out) os.remove(err) end)
    local ocid = H.ocid("console")
    -- setsid: node and its Chromium in a process group of their own, stopped
    -- together below whatever happens
    local p = assert(io.popen(string.format("cd %s && CHROMIUM=%s setsid node spec/browser/console.js %s %s"
      .. " >%s 2>%s </dev/null & echo $!", q(ROOT), q(CHROMIUM), q(console_url), q(ocid), q(out), q(err))))
    local pgid = tonumber(p:read("l"))
    p:close()
    assert(pgid, "could not start node")
    later(function() stop_group(pgid) end)
    -- the group exists once setsid has run in the new process
    local started = socket.gettime() + 10
    while not group_alive(pgid) and os.execute("kill -0 " .. pgid .. " 2>/dev/null") == true
      and socket.gettime() < started do
      socket.sleep(0.01)
    end

    local function wait_line(word, seconds)
      local until_ = socket.gettime() + seconds
      while socket.gettime() < until_ do
        local text = read_file(out) or ""
        if text:find("\n" .. word, 1, true) or text:sub(1, #word) == word then
          return text
        end
        if text:find("error: ", 1, true) or not group_alive(pgid) then
          break
        end
        r:poll(0.05)
      end
      error("the browser did not get to '" .. word .. "':\n" .. (read_file(out) or "")
        .. (read_file(err) or "") .. s:stderr())
    end

    wait_line("ready", 90)
    local res = H.post(s, H.PAY, H.payment(s, r, s:credential(), { OriginatorConversationID = ocid }), s:token())
    assert.are.equal(200, res.status, res.body)
    local seen = wait_line("seen", 60)
    assert.truthy(seen:find("254708374149", 1, true), seen)
    assert.truthy(wait_line("charts", 60):find("\ncharts 1\n", 1, true))
    wait_line("clicked", 60)

    local got = r:wait(1, 30)
    assert.are.equal(1, #got)
    assert.are.equal("/timeout", got[1].path)
    assert.are.equal(ocid, got[1].body.OriginatorConversationID)
    assert.is_nil(got[1].body.SecurityCredential)
    wait_line("delivered", 60)

    local st = s:stats()
    assert.are.equal(2, st.callbacksTotal)   -- the result still waits its 600 s
    assert.are.equal(1, st.callbacksDelivered)
    assert.are.equal(1, #r:collect(0.2))
  end)
end)
