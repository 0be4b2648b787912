-- b2c-sim: the HTTP server itself, control endpoints and the process.
local H = require("sim.helper")
local socket = require("socket")
local cjson = require("cjson.safe").new()
local sim = H.sim

local alive = require("support.process").alive

describe("b2c-sim server", function()
  local s

  setup(function()
    s = sim.start({ callbackDelay = 0.05 })
  end)
  teardown(function()
    if s then s:stop() end
  end)
  before_each(function() s:reset() end)

  local function oauth_request(close)
    return "GET " .. H.OAUTH .. " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " .. s:basic()
      .. (close and "\r\nConnection: close" or "") .. "\r\n\r\n"
  end

  it("serves 64 concurrent keep-alive connections, two requests each", function()
    local conns = {}
    for i = 1, 64 do
      local c = socket.tcp()
      c:settimeout(5)
      assert(c:connect("127.0.0.1", s.port))
      conns[i] = c
    end
    local tokens = {}
    for round = 1, 2 do
      for _, c in ipairs(conns) do
        assert(c:send(oauth_request(false)))
      end
      for i, c in ipairs(conns) do
        local res = assert(sim.read_response(c))
        assert.are.equal(200, res.status, "connection " .. i .. " round " .. round)
        assert.are.equal("keep-alive", res.headers.connection)
        tokens[res.json.access_token] = true
      end
    end
    for _, c in ipairs(conns) do
      c:close()
    end
    local n = 0
    for _ in pairs(tokens) do n = n + 1 end
    assert.are.equal(128, n)
    assert.are.equal(128, s:stats().tokensIssued)
  end)

  it("answers pipelined requests in order on one connection", function()
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect("127.0.0.1", s.port))
    assert(c:send("GET /sim/health HTTP/1.1\r\nHost: x\r\n\r\n" .. oauth_request(true)))
    local first = assert(sim.read_response(c))
    local second = assert(sim.read_response(c))
    assert.are.same({ ok = true }, first.json)
    assert.are.equal(200, second.status)
    assert.is_string(second.json.access_token)
    assert.are.equal("close", second.headers.connection)
    local _, err = c:receive(1)
    assert.are.equal("closed", err)
    c:close()
  end)

  it("closes an HTTP/1.0 connection after the answer", function()
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect("127.0.0.1", s.port))
    assert(c:send("GET /sim/health HTTP/1.0\r\n\r\n"))
    local res = assert(sim.read_response(c))
    assert.are.equal(200, res.status)
    local _, err = c:receive(1)
    assert.are.equal("closed", err)
    c:close()
  end)

  it("answers Expect: 100-continue and reads a chunked body", function()
    local token = s:token()
    local body = cjson.encode(H.payment(s, nil, s:credential()))
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect("127.0.0.1", s.port))
    assert(c:send("POST " .. H.PAY .. " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " .. token
      .. "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"))
    assert.are.equal("HTTP/1.1 100 Continue", c:receive("*l"))
    assert.are.equal("", c:receive("*l"))
    local half = #body // 2
    assert(c:send(string.format("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", half, body:sub(1, half),
      #body - half, body:sub(half + 1))))
    local res = assert(sim.read_response(c))
    c:close()
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("0", res.json.ResponseCode)
  end)

  it("answers a malformed request line with 400", function()
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect("127.0.0.1", s.port))
    assert(c:send("HELLO\r\n\r\n"))
    local res = assert(sim.read_response(c))
    c:close()
    assert.are.equal(400, res.status)
  end)

  it("refuses a too large announced body before reading it", function()
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect("127.0.0.1", s.port))
    assert(c:send("POST " .. H.PAY .. " HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"))
    local res = assert(sim.read_response(c))
    c:close()
    assert.are.equal(413, res.status)
  end)

  describe("/sim/ endpoints", function()
    it("/sim/stats has the documented fields", function()
      local st = s:stats()
      for _, k in ipairs({ "tokensIssued", "requests", "sendsByOcid", "payouts", "callbacks", "balance",
        "config", "queries" }) do
        assert.is_not_nil(st[k], k)
      end
      assert.are.equal(0, st.tokensIssued)
      assert.are.equal(cjson.null, st.lastHeaders)
    end)

    it("/sim/stats counts requests per path, not /sim/ ones", function()
      s:token()
      s:request("GET", "/nope")
      local st = s:stats()
      assert.are.equal(1, st.requests["/oauth/v1/generate"])
      assert.are.equal(1, st.requests["/nope"])
      assert.is_nil(st.requests["/sim/stats"])
    end)

    it("/sim/config changes settings and refuses unknown ones", function()
      local res = s:config({ callbackDelay = 0.3, tokenTtl = 60, invalidTokenStyle = "401" })
      assert.are.equal(0.3, res.config.callbackDelay)
      assert.are.equal(60, res.config.tokenTtl)
      assert.are.equal("401", res.config.invalidTokenStyle)
      local bad = assert(s:request("POST", "/sim/config", { json = { colour = "blue" } }))
      assert.are.equal(400, bad.status)
      assert.matches("unknown setting colour", bad.json.errorMessage)
      local bad2 = assert(s:request("POST", "/sim/config", { json = { tokenTtl = -1 } }))
      assert.are.equal(400, bad2.status)
      local shown = assert(s:request("GET", "/sim/config"))
      assert.are.equal(60, shown.json.tokenTtl)
    end)

    it("/sim/reset restores the settings given at start", function()
      s:config({ callbackDelay = 2, balance = 5 })
      s:token()
      s:reset()
      local st = s:stats()
      assert.are.equal(0.05, st.config.callbackDelay)
      assert.are.equal(1000000, st.balance.utility)
      assert.are.equal(0, st.tokensIssued)
      assert.are.same({}, st.requests)
    end)

    it("answers an unknown control path with 404", function()
      local res = assert(s:request("GET", "/sim/nothing"))
      assert.are.equal(404, res.status)
    end)
  end)

  describe("process", function()
    local function run(args)
      local p = io.popen("lua5.4 " .. sim.root .. "/sim/bin/b2c-sim " .. args .. " 2>&1; echo rc=$?")
      local out = p:read("a")
      p:close()
      return out
    end

    it("prints help", function()
      local out = run("--help")
      assert.matches("Usage: b2c%-sim", out)
      assert.matches("%-%-fault", out)
      assert.matches("rc=0", out)
    end)

    it("refuses an unknown option with status 2", function()
      local out = run("--frobnicate")
      assert.matches("unknown option %-%-frobnicate", out)
      assert.matches("rc=2", out)
    end)

    it("refuses a --key without --cert", function()
      local out = run("--key /nonexistent")
      assert.matches("%-%-key and %-%-cert go together", out)
      assert.matches("rc=1", out)
    end)

    it("accepts --key and --cert and reports that certificate", function()
      local other = sim.start({ key = sim.root .. "/spec/fixtures/sim/sim-key.pem",
        cert = sim.root .. "/spec/fixtures/sim/sim-cert.pem" })
      finally(function() other:stop() end)
      assert.are.equal(sim.root .. "/spec/fixtures/sim/sim-cert.pem", other.certificate)
    end)

    it("stops on SIGTERM and leaves no process behind", function()
      local other = sim.start()
      assert.is_true(alive(other.pid))
      other:stop()
      assert.is_false(alive(other.pid))
      other:stop() -- idempotent
    end)

    it("exits by itself when the watched process is gone", function()
      local p = io.popen("sleep 0.3 & echo $!")
      local watched = p:read("l")
      p:close()
      local other = sim.start({ args = { "--watch-pid", watched } })
      finally(function() other:stop() end)
      local deadline = socket.gettime() + 4
      while alive(other.pid) and socket.gettime() < deadline do
        socket.sleep(0.05)
      end
      assert.is_false(alive(other.pid))
    end)
  end)
end)
