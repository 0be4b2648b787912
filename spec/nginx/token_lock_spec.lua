-- The token lock in the lua_shared_dict when the worker holding it dies
-- mid-fetch (SIGKILL, the OOM killer, a crash). The lock expires by itself
-- after the payout timeout + 1 s; until then every payout of every worker
-- would wait for a fetch that nobody is making. A lock whose holder is gone
-- must be taken over at once, by one waiter.
local nginx = require("support.nginx")
local json = require("cjson.safe").new()
local socket = require("socket")

local OAUTH = "/oauth/v1/generate"
local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("b2c.ngx.shared_dict_store's lock", function()
  local s, n

  setup(function()
    local credential
    s, credential = nginx.simulator()
    -- timeout 10: a live fetch may hold the lock 11 s.
    n = nginx.start_app(s, credential, { workers = 1, threads = 8, timeout = 10 })
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
  end)

  it("is taken over at once when the worker fetching the token was killed", function()
    s:config({ fault = { spec = "delay=5", count = 1, path = OAUTH } })
    -- A payout whose token fetch hangs on the simulator...
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect("127.0.0.1", n.port))
    assert(c:send("GET /pay?store=1&ocid=lock-killed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    local deadline = socket.gettime() + 5
    while (s:stats().requests[OAUTH] or 0) < 1 and socket.gettime() < deadline do socket.sleep(0.02) end
    assert.are.equal(1, s:stats().requests[OAUTH])
    -- ...and its worker killed while it holds the lock.
    local old = n:workerPids()
    assert.are.equal(1, #old)
    os.execute("kill -KILL " .. old[1])
    c:close()
    deadline = socket.gettime() + 5
    local now
    repeat
      socket.sleep(0.05)
      now = n:workerPids()
    until (#now == 1 and now[1] ~= old[1]) or socket.gettime() > deadline
    assert.are_not.equal(old[1], now[1])

    local t0 = socket.gettime()
    local res = assert(n:request("GET", "/pay?store=1&ocid=lock-after", nil, nil, 20))
    local seconds = socket.gettime() - t0
    assert.are.equal(200, res.status, res.body)
    local got = assert(json.decode(res.body), res.body)
    assert.is_true(got.ok, got.text)
    print(string.format("\npayout after the fetching worker was killed: answered in %.2f s", seconds))
    assert.is_true(seconds < 3, "waited " .. seconds .. " s for a dead worker's lock")
    local st = s:stats()
    assert.is_nil(st.sendsByOcid["lock-killed"])
    assert.are.equal(1, st.sendsByOcid["lock-after"])
    assert.are.equal(2, st.requests[OAUTH])
    assert.are.equal(1, st.requests[PAYMENT])
  end)
end)
