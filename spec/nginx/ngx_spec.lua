-- b2c.ngx in a real nginx (Debian's nginx + libnginx-mod-http-lua, LuaJIT)
-- started by the spec, against the simulator. This process (Lua 5.4) only
-- talks HTTP to nginx and to the simulator.
local nginx = require("support.nginx")
local json = require("cjson.safe").new()
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

local read_file = require("support.files").must

local function start_nginx(s, credential, workers)
  return nginx.start_app(s, credential, { workers = workers, threads = 24 })
end

local function get_json(n, path)
  local res = assert(n:request("GET", path))
  assert.are.equal(200, res.status, res.body)
  return assert(json.decode(res.body), res.body)
end

-- Polls /seen until `key` is stored (a callback arrived) or 5 s pass.
local function wait_seen(n, key)
  local deadline = socket.gettime() + 5
  local got
  repeat
    got = get_json(n, "/seen?key=" .. key)
    if got.value then return got end
    socket.sleep(0.05)
  until socket.gettime() > deadline
  return got
end

local function no_severe_log(n)
  local log = n:errorLog()
  assert.is_nil(log:find("%[alert%]"), log)
  assert.is_nil(log:find("%[crit%]"), log)
  assert.is_nil(log:find("%[emerg%]"), log)
end

describe("b2c.ngx in nginx (1 worker)", function()
  local s, n, credential

  setup(function()
    s, credential = nginx.simulator()
    n = start_nginx(s, credential, 1)
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
  end)

  it("sends payouts from a request handler through the thread pool", function()
    local ocids = {}
    for i = 1, 3 do
      local ocid = "nginx-pay-" .. i
      local got = get_json(n, "/pay?ocid=" .. ocid)
      assert.is_true(got.ok, got.text)
      assert.are.equal("0", got.ack.ResponseCode)
      assert.are.equal(ocid, got.ack.OriginatorConversationID)
      assert.matches("^AG_", got.ack.ConversationID)
      ocids[#ocids + 1] = ocid
    end
    local st = s:stats()
    for _, ocid in ipairs(ocids) do assert.are.equal(1, st.sendsByOcid[ocid]) end
    no_severe_log(n)
  end)

  it("runs any operation of the registry on the pool: a transactionStatus query", function()
    local before = s:stats().requests["/mpesa/transactionstatus/v1/query"] or 0
    local got = get_json(n, "/query?ocid=nginx-pay-1")
    assert.is_true(got.ok, got.raised or (got.err and got.err.message))
    assert.are.equal("0", got.ack.ResponseCode)
    assert.are.equal(before + 1, s:stats().requests["/mpesa/transactionstatus/v1/query"])
    -- a bad field is the operation's own validation error, nothing sent
    got = get_json(n, "/query")
    assert.is_false(got.ok)
    assert.are.equal("validation", got.err.kind)
    assert.are.equal("originatorConversationId", got.err.field)
    assert.is_true(got.isError)
    -- a verb that does not block is misuse: raised before the pool
    got = get_json(n, "/query?ocid=x&namespace=b2c&verb=sendBatch")
    assert.matches("no blocking verb sendBatch", got.raised)
    got = get_json(n, "/query?ocid=x&namespace=nothing")
    assert.matches("no operation named nothing", got.raised)
    assert.are.equal(before + 1, s:stats().requests["/mpesa/transactionstatus/v1/query"])
    no_severe_log(n)
  end)

  it("runs every other operation on the pool: B2Pochi, B2B, Top Up, Reversal, Account Balance", function()
    local function escape(t)
      return (json.encode(t):gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
    end
    local calls = {
      { "b2pochi", "send", { recipientPhone = "0705912645", amount = 100, remarks = "nginx pochi",
        originatorConversationId = "nginx-pochi-1" }, "/mpesa/b2pochi/v1/paymentrequest" },
      { "b2b", "send", { commandId = "BusinessBuyGoods", receiverShortCode = "123456", amount = 300,
        remarks = "nginx b2b" }, "/mpesa/b2b/v1/paymentrequest" },
      { "b2cTopUp", "send", { receiverShortCode = "600000", amount = 1000, remarks = "nginx top-up" },
        "/mpesa/b2b/v1/paymentrequest" },
      { "reversal", "request", { transactionId = "PDU91HIVIT", amount = 200, remarks = "nginx reversal" },
        "/mpesa/reversal/v1/request" },
      { "accountBalance", "query", { remarks = "nginx balance" }, "/mpesa/accountbalance/v1/query" },
    }
    for _, c in ipairs(calls) do
      local before = s:stats().requests[c[4]] or 0
      local got = get_json(n, "/query?namespace=" .. c[1] .. "&verb=" .. c[2] .. "&fields=" .. escape(c[3]))
      assert.is_true(got.ok, c[1] .. ": " .. tostring(got.raised or (got.err and got.err.message)))
      assert.are.equal("0", got.ack.ResponseCode)
      assert.are.equal(before + 1, s:stats().requests[c[4]])
    end
    assert.are.equal(1, s:stats().sendsByOcid["nginx-pochi-1"])
    -- a bad field: the operation's own validation error, nothing sent
    local got = get_json(n, "/query?namespace=b2b&verb=send&fields=" .. escape({ commandId = "BusinessPayBill",
      receiverShortCode = "888880", amount = 10, remarks = "x" }))
    assert.is_false(got.ok)
    assert.are.equal("accountReference", got.err.field)
    no_severe_log(n)
  end)

  it("gives shared_dict_store a lock that never waits (tryLock, for polled calls)", function()
    local got = get_json(n, "/trylock")
    assert.are.same({ true, false, true }, got.steps)
    assert.is_true(got.waited < 0.5, got.waited .. " s")
  end)

  it("refuses a payout whose caller gives no OCID, sending nothing", function()
    local sent = s:stats().requests[PAYMENT]
    local res = assert(n:request("GET", "/pay?amount=500"))
    assert.are.equal(400, res.status, res.body)
    assert.are.equal("ocid", json.decode(res.body).err.field)
    assert.are.equal(sent, s:stats().requests[PAYMENT])
  end)

  it("sends from an ngx.timer handler", function()
    assert.is_true(get_json(n, "/pay-timer?ocid=nginx-timer-1").started)
    local got = assert(json.decode(wait_seen(n, "timer:nginx-timer-1").value))
    assert.is_true(got.ok, got.err and got.err.message)
    assert.are.equal("nginx-timer-1", got.ocid)
    assert.are.equal(1, s:stats().sendsByOcid["nginx-timer-1"])
  end)

  it("returns plain tables from ngx.run_worker_thread(pool, \"b2c.ngx\", \"send\", ...)", function()
    local got = get_json(n, "/pay-raw?ocid=nginx-raw-1")
    assert.is_true(got.ran)
    assert.are.equal("0", got.ack.ResponseCode)
    assert.are.equal(1, s:stats().sendsByOcid["nginx-raw-1"])

    local bad = get_json(n, "/pay-raw?ocid=nginx-raw-bad&amount=10.5")
    assert.is_true(bad.ran)
    assert.is_nil(bad.ack)
    assert.is_false(bad.errHasMetatable)
    assert.are.equal("validation", bad.err.kind)
    assert.are.equal("amount", bad.err.field)
    assert.is_false(bad.err.retryable)
    assert.matches("^amount: ", bad.err.message)
  end)

  it("gives b2c.ngx.send's errors their metatable and every field", function()
    local got = get_json(n, "/pay?ocid=nginx-bad-amount&amount=10.5")
    assert.is_false(got.ok)
    assert.is_true(got.isError)
    assert.are.equal("validation", got.err.kind)
    assert.are.equal("amount", got.err.field)
    assert.are.equal(got.err.message, got.text)   -- tostring(err) is the message

    s:config({ fault = { spec = "spike", count = 1, path = PAYMENT } })
    local spike = get_json(n, "/pay?ocid=nginx-spike-1")
    assert.is_false(spike.ok)
    assert.are.equal("api", spike.err.kind)
    assert.are.equal("500.003.02", spike.err.code)
    assert.are.equal(500, spike.err.status)
    assert.is_true(spike.err.retryable)
    assert.are.equal("nginx-spike-1", spike.err.originatorConversationId)
    assert.is_string(spike.err.requestId)
    assert.are.equal("rejected_retryable", spike.err.outcome)

    local sent = s:stats().requests[PAYMENT]
    local nopool = get_json(n, "/pay-nopool?ocid=nginx-nopool")
    assert.is_false(nopool.ok)
    assert.is_true(nopool.isError)
    assert.are.equal("thread", nopool.err.kind)
    assert.truthy(nopool.err.message:find("not found", 1, true), nopool.err.message)
    assert.is_false(nopool.err.retryable)
    assert.are.equal(sent, s:stats().requests[PAYMENT])
  end)

  -- 20 payouts held 1 s by the simulator while /ping is asked in a loop.
  -- Returns the ping latencies (sorted) and the slowest payout's seconds.
  local function wave(tag)
    s:config({ fault = { spec = "delay=1", count = 20, path = PAYMENT } })
    local paths = {}
    for i = 1, 20 do paths[i] = "/pay?ocid=nginx-" .. tag .. "-" .. i end
    local latencies = {}
    local answers = n:concurrently("GET", paths, 15, function()
      local t0 = socket.gettime()
      local res = assert(n:request("GET", "/ping", nil, nil, 5))
      latencies[#latencies + 1] = socket.gettime() - t0
      assert.are.equal(200, res.status)
      socket.sleep(0.01)
    end)
    s:config({ fault = false })
    local slowest = 0
    for i, res in ipairs(answers) do
      assert.are.equal(200, res.status, res.body)
      local got = assert(json.decode(res.body), res.body)
      assert.is_true(got.ok, got.text)
      assert.are.equal("nginx-" .. tag .. "-" .. i, got.ack.OriginatorConversationID)
      assert.is_true(res.seconds >= 0.95, "payout answered before the 1 s delay")
      slowest = math.max(slowest, res.seconds)
    end
    local st = s:stats()
    for i = 1, 20 do assert.are.equal(1, st.sendsByOcid["nginx-" .. tag .. "-" .. i]) end
    table.sort(latencies)
    return latencies, slowest
  end

  it("keeps answering other requests while 20 payouts wait 1 s on the gateway", function()
    assert(get_json(n, "/pay?ocid=nginx-warm").ok)  -- a token, so only payouts wait
    -- The first wave also creates the pool's Lua VMs; the second reuses them.
    for _, tag in ipairs({ "first", "second" }) do
      local latencies, slowest = wave(tag)
      local median = latencies[math.ceil(#latencies / 2)]
      local max = latencies[#latencies]
      print(string.format("\n/ping while 20 payouts waited 1 s (%s wave): %d pings, median %.1f ms, "
        .. "max %.1f ms; payouts answered after %.2f s", tag, #latencies, median * 1000, max * 1000,
        slowest))
      -- All 20 waited at the same time on the pool's threads...
      assert.is_true(slowest < 3, "20 payouts took " .. slowest .. " s: not concurrent")
      -- ...while the worker's event loop kept serving.
      assert.is_true(#latencies >= 20, "too few pings: " .. #latencies)
      -- A blocked loop would hold a ping for the payouts' whole 1 s; the bound
      -- leaves room for a busy machine (the printed figures are the measure).
      -- The first wave creates 20 Lua VMs on the event loop: slower still.
      local bound = tag == "first" and 1 or 0.6
      assert.is_true(max < bound, "a ping took " .. max .. " s")
    end
    no_severe_log(n)
  end)

  it("parses and acknowledges the result callbacks Daraja posts", function()
    local got = get_json(n, "/pay?ocid=nginx-cb-ok")
    assert.is_true(got.ok, got.text)
    local seen = wait_seen(n, "result:nginx-cb-ok")
    local value = assert(json.decode(seen.value))
    assert.is_true(value.ok)
    assert.are.equal(0, value.code)
    assert.are.equal(500, value.amount)
    assert.is_string(value.receipt)

    assert.is_true(get_json(n, "/pay?ocid=nginx-cb-fail&phone=254700000001").ok)
    value = assert(json.decode(wait_seen(n, "result:nginx-cb-fail").value))
    assert.is_false(value.ok)
    assert.are.equal(1, value.code)

    -- The simulator was answered 200 with Daraja's acknowledgement. nginx
    -- records a callback before it answers it: the simulator's side of the
    -- delivery may still be reading the answer when /seen shows it.
    local function ours(d)
      return d.kind == "result" and (d.ocid == "nginx-cb-ok" or d.ocid == "nginx-cb-fail")
    end
    local function delivered()
      local count = 0
      for _, d in ipairs(s:stats().callbacks) do
        if ours(d) and d.delivered then count = count + 1 end
      end
      return count
    end
    local deadline = socket.gettime() + 5
    while delivered() < 2 and socket.gettime() < deadline do socket.sleep(0.05) end
    local results = 0
    for _, d in ipairs(s:stats().callbacks) do
      if ours(d) then
        results = results + 1
        assert.is_true(d.delivered)
        assert.are.equal(200, d.status)
        assert.are.equal(1, d.attempts)
      end
    end
    assert.are.equal(2, results)
  end)

  it("answers a callback with 200 and the JSON acknowledgement", function()
    local body = read_file("spec/fixtures/daraja/b2c_result_success_docs_v3.json")
    local res = assert(n:request("POST", "/result", body, { ["Content-Type"] = "application/json" }))
    assert.are.equal(200, res.status)
    assert.matches("application/json", res.headers["content-type"])
    assert.are.same({ ResultCode = 0, ResultDesc = "Accepted" }, json.decode(res.body))
    local ocid = json.decode(body).Result.OriginatorConversationID
    assert.is_string(get_json(n, "/seen?key=result:" .. ocid).value)
  end)

  it("reads a callback body nginx kept in a temporary file", function()
    local doc = json.decode(read_file("spec/fixtures/daraja/b2c_result_success_docs_v3.json"))
    doc.Result.OriginatorConversationID = "nginx-big-body"
    doc.Result.ResultDesc = string.rep("x", 8000)  -- over client_body_buffer_size 1k
    local res = assert(n:request("POST", "/result", json.encode(doc)))
    assert.are.equal(200, res.status, res.body)
    assert.is_string(get_json(n, "/seen?key=result:nginx-big-body").value)
  end)

  it("rejects a malformed callback with 400 without running user code", function()
    local before = get_json(n, "/seen").calls
    for _, body in ipairs({ "not json", "{}", '{"Result":{"ResultCode":0}}', "[1,2]" }) do
      local res = assert(n:request("POST", "/result", body))
      assert.are.equal(400, res.status, body)
      local ack = json.decode(res.body)
      assert.are.equal(1, ack.ResultCode)
      assert.matches("^Rejected", ack.ResultDesc)
    end
    local empty = assert(n:request("POST", "/result", ""))
    assert.are.equal(400, empty.status)
    local get = assert(n:request("GET", "/result"))
    assert.are.equal(405, get.status)
    assert.are.equal(before, get_json(n, "/seen").calls)
  end)

  it("logs every refused callback with its reason, escaped and bounded", function()
    local mark = #n:errorLog()
    -- No Result object, an OCID carrying a terminal escape, a newline and a forged log line.
    local hostile = '{"OriginatorConversationID":"evil\27[31m\n2026/01/01 [alert] forged'
      .. string.rep("x", 300) .. '"}'
    local cases = {
      { "POST", "/result", "not json", 400, "not strict JSON" },
      { "POST", "/result", "{}", 400, "no Result object" },
      { "POST", "/result", hostile, 400, 'OriginatorConversationID "evil\\x1b[31m\\x0a2026/01/01 [alert] forged' },
      { "POST", "/result", "", 400, "empty body" },
      { "GET", "/result", nil, 405, "method GET is not POST" },
      { "POST", "/result-failing", string.rep(" ", 5000) .. "{}", 413, "body larger than 4096 bytes" },
      { "POST", "/timeout", '{"no":"ocid"}', 400, "b2c.ngx.handle_queue_timeout: refused" },
    }
    for _, c in ipairs(cases) do
      local res = assert(n:request(c[1], c[2], c[3]))
      assert.are.equal(c[4], res.status)
    end
    local log = n:errorLog():sub(mark + 1)
    local lines = {}
    for line in log:gmatch("[^\n]+") do
      if line:find("refused a callback", 1, true) then lines[#lines + 1] = line end
    end
    assert.are.equal(#cases, #lines, log)
    for i, c in ipairs(cases) do
      assert.truthy(lines[i]:find("[warn]", 1, true), lines[i])
      assert.truthy(lines[i]:find("(HTTP " .. c[4] .. ")", 1, true), lines[i])
      assert.truthy(lines[i]:find(c[5], 1, true), lines[i])
      assert.is_nil(lines[i]:find("[%z\1-\31\127]"), lines[i])
      assert.is_true(#lines[i] < 600, lines[i])
    end
    -- The forged line stayed inside the real one, and the OCID was cut.
    assert.is_nil(log:find("\n2026/01/01", 1, true))
    assert.truthy(lines[3]:find("xxx...\"", 1, true), lines[3])
  end)

  it("refuses a body over maxBodyBytes with 413, and answers 500 when user code raises", function()
    local before = get_json(n, "/seen").calls
    local big = assert(n:request("POST", "/result-failing", string.rep(" ", 5000) .. "{}"))
    assert.are.equal(413, big.status)
    assert.are.equal(before, get_json(n, "/seen").calls)
    local body = read_file("spec/fixtures/daraja/b2c_result_success_docs_v3.json")
    local res = assert(n:request("POST", "/result-failing", body))
    assert.are.equal(500, res.status)   -- not acknowledged: Daraja delivers it again
    assert.are.equal(before + 1, get_json(n, "/seen").calls)
    assert.truthy(n:errorLog():find("the database is down", 1, true))
  end)

  it("handles queue timeout notifications the same way", function()
    assert.is_true(get_json(n, "/pay?ocid=nginx-qt&phone=254700009001").ok)
    assert.are.equal("1", wait_seen(n, "timeout:nginx-qt").value)
    local res = assert(n:request("POST", "/timeout", "{\"no\":\"ocid\"}"))
    assert.are.equal(400, res.status)
  end)
end)

describe("b2c.ngx in nginx (2 workers, token in a lua_shared_dict)", function()
  local s, n, credential

  setup(function()
    s, credential = nginx.simulator()
    n = start_nginx(s, credential, 2)
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
  end)

  it("fetches exactly one token for many payouts across both workers", function()
    s:config({ fault = { spec = "delay=0.2", count = 80, path = PAYMENT } })
    local paths = {}
    for i = 1, 40 do paths[i] = "/pay?store=1&ocid=nginx-shared-" .. i end
    local answers = n:concurrently("GET", paths, 20)
    s:config({ fault = false })
    local pids = {}
    local count = 0
    for _, res in ipairs(answers) do
      assert.are.equal(200, res.status, res.body)
      local got = assert(json.decode(res.body), res.body)
      assert.is_true(got.ok, got.text)
      if not pids[got.pid] then count = count + 1 end
      pids[got.pid] = true
    end
    assert.are.equal(2, count)   -- both workers sent payouts
    local st = s:stats()
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(40, st.requests[PAYMENT])  -- no payout was refused for its token
    -- A second wave reuses it.
    for i = 1, 10 do paths[i] = "/pay?store=1&ocid=nginx-shared-again-" .. i end
    for i = 11, 40 do paths[i] = nil end
    for _, res in ipairs(n:concurrently("GET", paths, 20)) do assert.are.equal(200, res.status) end
    assert.are.equal(1, s:stats().tokensIssued)
    no_severe_log(n)
  end)

  it("recovers with one new token when the shared token is revoked", function()
    s:revokeTokens()
    local before = s:stats().tokensIssued
    local paths = {}
    for i = 1, 20 do paths[i] = "/pay?store=1&ocid=nginx-revoked-" .. i end
    for _, res in ipairs(n:concurrently("GET", paths, 20)) do
      assert.are.equal(200, res.status, res.body)
      assert.is_true(json.decode(res.body).ok, res.body)
    end
    assert.are.equal(before + 1, s:stats().tokensIssued)
  end)
end)
