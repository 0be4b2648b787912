-- b2c-sim: delivery of result callbacks, with retries.
local H = require("sim.helper")
local socket = require("socket")
local sim = H.sim

describe("b2c-sim callback delivery", function()
  local s, credential, token

  setup(function()
    s = sim.start({ callbackDelay = 0.05 })
    credential = s:credential()
  end)
  teardown(function()
    if s then s:stop() end
  end)
  before_each(function()
    s:reset()
    token = s:token()
  end)

  local function pay_to(url, over)
    local o = { ResultURL = url, QueueTimeOutURL = url }
    for k, v in pairs(over or {}) do o[k] = v end
    local body = H.payment(s, nil, credential, o)
    local res = H.post(s, H.PAY, body, token)
    assert.are.equal(200, res.status)
    return body
  end

  it("retries when the receiver is down at first", function()
    s:config({ callbackBackoff = { 0.5, 0.5 } })
    local probe = sim.receiver()
    local port = probe.port
    probe:close() -- nothing listens: the first attempt is refused
    local body = pay_to("http://127.0.0.1:" .. port .. "/late")
    -- wait until the first attempt has failed, then start listening
    local deadline = socket.gettime() + 3
    repeat
      socket.sleep(0.02)
      local c = s:stats().callbacks[1]
    until (c and #c.attemptLog >= 1) or socket.gettime() > deadline
    local r = sim.receiver({ port = port })
    finally(function() r:close() end)
    local got = r:wait(1, 3)
    assert.are.equal(1, #got)
    assert.are.equal("/late", got[1].path)
    assert.are.equal(body.OriginatorConversationID, got[1].body.Result.OriginatorConversationID)
    local st = H.settled(s)
    local c = st.callbacks[1]
    assert.are.equal(2, c.attempts)
    assert.is_true(c.delivered)
    assert.are.equal(body.OriginatorConversationID, c.ocid)
    assert.are.equal("http://127.0.0.1:" .. port .. "/late", c.url)
    assert.matches("refused", c.attemptLog[1].error)
    assert.are.equal(200, c.attemptLog[2].status)
  end)

  it("retries after a non-2xx answer", function()
    s:config({ callbackBackoff = { 0.05 } })
    local r = sim.receiver({ failFirst = 1 })
    finally(function() r:close() end)
    pay_to(r.url)
    local got = r:wait(2, 3)
    assert.are.equal(2, #got)
    assert.are.equal(500, got[1].answered)
    assert.are.equal(200, got[2].answered)
    assert.are.equal(got[1].raw, got[2].raw)
    local c = H.settled(s).callbacks[1]
    assert.are.equal(2, c.attempts)
    assert.is_true(c.delivered)
    assert.are.equal(500, c.attemptLog[1].status)
  end)

  it("gives up after the configured number of attempts", function()
    s:config({ callbackAttempts = 3, callbackBackoff = { 0.05, 0.1 } })
    local r = sim.receiver({ status = 503 })
    finally(function() r:close() end)
    pay_to(r.url)
    local got = r:collect(0.6)
    assert.are.equal(3, #got)
    local c = H.settled(s).callbacks[1]
    assert.are.equal(3, c.attempts)
    assert.is_false(c.delivered)
    assert.is_false(c.pending)
    assert.are.equal(503, c.status)
  end)

  it("times out a receiver that never answers, then tries again", function()
    s:config({ callbackAttempts = 2, callbackBackoff = { 0.05 }, callbackTimeout = 0.3 })
    local silent = assert(socket.bind("127.0.0.1", 0)) -- listens, never accepts
    finally(function() silent:close() end)
    local _, port = silent:getsockname()
    pay_to("http://127.0.0.1:" .. port .. "/silent")
    local c = H.settled(s, 3).callbacks[1]
    assert.are.equal(2, c.attempts)
    assert.is_false(c.delivered)
    assert.matches("timeout", c.attemptLog[1].error)
    assert.is_true(c.attemptLog[1].seconds >= 0.25)
  end)

  it("waits callbackDelay before posting", function()
    s:config({ callbackDelay = 0.5 })
    local r = sim.receiver()
    finally(function() r:close() end)
    local started = socket.gettime()
    pay_to(r.url)
    assert.are.equal(0, #r:collect(0.3))
    local got = r:wait(1, 3)
    assert.are.equal(1, #got)
    assert.is_true(got[1].at - started >= 0.5)
  end)

  it("keeps delivering callbacks while serving requests", function()
    local r = sim.receiver()
    finally(function() r:close() end)
    for _ = 1, 10 do
      pay_to(r.url)
    end
    local got = r:wait(10, 3)
    assert.are.equal(10, #got)
    local seen = {}
    for _, g in ipairs(got) do
      seen[g.body.Result.OriginatorConversationID] = true
    end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(10, n)
  end)

  -- https callbacks need LuaSec in the simulator; socat terminates TLS here.
  local has_tls = pcall(require, "ssl") and os.execute("command -v socat >/dev/null 2>&1")
  local it_tls = has_tls and it or pending
  it_tls("posts to an https ResultURL", function()
    local r = sim.receiver()
    local pem = os.tmpname()
    os.execute(string.format("cat %s/spec/fixtures/sim/sim-key.pem %s/spec/fixtures/sim/sim-cert.pem > %s",
      sim.root, sim.root, pem))
    local probe = assert(socket.bind("127.0.0.1", 0))
    local _, port = probe:getsockname()
    probe:close()
    local p = io.popen(string.format("socat OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,verify=0 "
      .. "TCP:127.0.0.1:%d >/dev/null 2>&1 & echo $!", port, pem, r.port))
    local pid = p:read("l")
    p:close()
    finally(function()
      os.execute("kill " .. pid .. " 2>/dev/null")
      os.remove(pem)
      r:close()
    end)
    -- socat listens when a connection is taken (a busy machine starts it late)
    local deadline = socket.gettime() + 10
    repeat
      local c = socket.tcp()
      c:settimeout(0.2)
      local listening = c:connect("127.0.0.1", port)
      c:close()
      if not listening then socket.sleep(0.05) end
    until listening or socket.gettime() > deadline
    local body = pay_to("https://localhost:" .. port .. "/secure")
    local got = r:wait(1, 3)
    assert.are.equal(1, #got)
    assert.are.equal("/secure", got[1].path)
    assert.are.equal(body.OriginatorConversationID, got[1].body.Result.OriginatorConversationID)
    assert.is_true(H.settled(s).callbacks[1].delivered)
  end)

  it("abandons pending deliveries on /sim/reset", function()
    s:config({ callbackDelay = 0.3 })
    local r = sim.receiver()
    finally(function() r:close() end)
    pay_to(r.url)
    s:reset()
    assert.are.equal(0, #r:collect(0.5))
    assert.are.equal(0, #s:stats().callbacks)
  end)
end)
