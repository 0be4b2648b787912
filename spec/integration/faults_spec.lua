-- Every transport and gateway fault over real sockets, against the
-- simulator's fault switches (and a few loopback servers of our own): the
-- error kind, retryable, the OCID where money may have moved, and from the
-- simulator's per-OCID counters that no payout was sent twice. Prints a
-- table fault -> outcome. The last test looks for every secret in
-- everything these runs produced.
local b2c = require("b2c")
local sim = require("support.sim")
local socket = require("socket")
local free_port = require("support.free_port")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"
local OAUTH = "/oauth/v1/generate"

describe("faults", function()
  local s
  local rows = {}          -- the fault table
  local texts = {}         -- every text the SDK produced, for the secret check
  local tokens = {}        -- every access token seen on the wire
  local credential         -- the SecurityCredential the core computed

  local function collect(v, depth)
    depth = depth or 0
    texts[#texts + 1] = tostring(v)
    if type(v) == "table" and depth < 4 then
      for k, x in pairs(v) do
        texts[#texts + 1] = tostring(k)
        collect(x, depth + 1)
      end
    end
  end

  local function client(over)
    local cfg = s:settings({ resultUrl = "http://127.0.0.1:9/result",
      queueTimeOutUrl = "http://127.0.0.1:9/timeout", timeout = 5, connectTimeout = 2 })
    for k, v in pairs(over or {}) do cfg[k] = v end
    local mpesa = assert(b2c.new(cfg))
    collect(mpesa)
    collect(mpesa.core)
    return mpesa
  end

  local function note_wire()
    local st = s:stats()
    local auth = type(st.lastHeaders) == "table" and st.lastHeaders.authorization
    if type(auth) == "string" and auth:match("^Bearer ") then tokens[auth:sub(8)] = true end
    if type(st.lastPaymentRequest) == "table" then
      credential = st.lastPaymentRequest.SecurityCredential or credential
    end
    return st
  end

  local n = 0
  local function ocid()
    n = n + 1
    return "fault-" .. os.time() .. "-" .. n
  end

  -- One payout under a fault; checks and records the outcome.
  -- want: kind (nil: success), retryable, moved (money may have moved: the
  -- OCID must be reported), sends (requests that reached the gateway with
  -- this OCID, default at most 1).
  local function run(name, want, over, setup_fault)
    local mpesa = client(over)
    local id = ocid()
    if setup_fault then setup_fault() end
    local t0 = socket.gettime()
    local ack, err = mpesa.b2c.send({ recipientPhone = "0708374149", amount = 500,
      remarks = want.remarks or "Fault run", originatorConversationId = id })
    local took = socket.gettime() - t0
    socket.sleep(0.1)
    local st = note_wire()
    s:config({ fault = false })
    mpesa:close()
    collect(ack)
    collect(err)
    local sends = st.sendsByOcid[id] or 0
    local payouts = 0
    for _, p in ipairs(st.payouts) do
      if p.ocid == id then payouts = payouts + 1 end
    end
    local row = { name = name, kind = err and err.kind or "ok", retryable = err and err.retryable,
      ocid = err and err.originatorConversationId == id and err.message:find(id, 1, true) ~= nil,
      sends = sends, payouts = payouts, took = took, code = err and (err.code or err.status),
      outcome = err and err.outcome or "accepted" }
    rows[#rows + 1] = row
    if want.kind then
      assert.is_nil(ack, name)
      assert.are.equal(want.kind, err.kind, name .. ": " .. tostring(err))
      assert.are.equal(want.retryable, err.retryable, name .. ": " .. tostring(err))
      -- the outcome class: ambiguous exactly when money may have moved
      assert.are.equal(want.moved and "ambiguous" or nil, err.outcome == "ambiguous" and "ambiguous" or nil,
        name .. ": outcome " .. tostring(err.outcome))
      if want.moved then
        assert.are.equal(id, err.originatorConversationId, name)
        assert.truthy(err.message:find(id, 1, true), name .. ": OCID not in " .. err.message)
        assert.truthy(err.message:find("reconcile", 1, true), name .. ": " .. err.message)
      end
    else
      assert.is_not_nil(ack, name .. ": " .. tostring(err))
      assert.are.equal(id, ack.OriginatorConversationID)
    end
    assert.is_true(payouts <= 1, name .. ": " .. payouts .. " payouts for one OCID")
    assert.is_true(sends <= (want.sends or 1), name .. ": sent " .. sends .. " times")
    if want.processed ~= nil then assert.are.equal(want.processed and 1 or 0, payouts, name) end
    return err, row
  end

  local function fault(spec, path)
    return function() s:config({ fault = { spec = spec, count = 1, path = path or PAYMENT } }) end
  end

  setup(function()
    s = sim.start({ callbackDelay = 0.05 })
  end)
  teardown(function()
    if s then s:stop() end
  end)

  it("connection refused: network, retryable, nothing sent", function()
    run("connection refused", { kind = "network", retryable = true },
      { baseUrl = "http://127.0.0.1:" .. free_port() })
  end)

  it("DNS failure (a name under .invalid): network, retryable, nothing sent", function()
    local err = run("DNS failure", { kind = "network", retryable = true },
      { baseUrl = "https://b2c-spec.invalid" })
    assert.truthy(err.message:lower():find("resolve", 1, true), err.message)
  end)

  it("connect timeout (a loopback listener whose accept queue is full): timeout, retryable", function()
    local server = socket.tcp()
    assert(server:bind("127.0.0.1", 0))
    assert(server:listen(0))
    local _, port = server:getsockname()
    local fillers = {}
    for i = 1, 8 do
      fillers[i] = socket.tcp()
      fillers[i]:settimeout(0)
      fillers[i]:connect("127.0.0.1", port)
    end
    socket.sleep(0.1)
    local _, row = run("connect timeout", { kind = "timeout", retryable = true },
      { baseUrl = "http://127.0.0.1:" .. port, connectTimeout = 0.5 })
    for _, c in ipairs(fillers) do c:close() end
    server:close()
    assert.is_true(row.took < 2, "took " .. row.took)
  end)

  it("answer later than the timeout: timeout, not retryable, OCID reported", function()
    run("response delayed past timeout", { kind = "timeout", retryable = false, moved = true,
      processed = true }, { timeout = 0.7 }, fault("delay=2"))
  end)

  it("connection dropped after the request was read: timeout, OCID, sent once", function()
    run("dropped after request", { kind = "timeout", retryable = false, moved = true,
      processed = true }, nil, fault("drop"))
  end)

  it("truncated JSON: timeout, OCID", function()
    run("truncated JSON", { kind = "timeout", retryable = false, moved = true, processed = true },
      nil, fault("truncate"))
  end)

  it("HTML error page: http, not retryable", function()
    local err = run("HTML 403 page", { kind = "http", retryable = false, processed = false },
      nil, fault("html403"))
    assert.are.equal(403, err.status)
  end)

  it("5xx with a Daraja body: api, OCID (ambiguous)", function()
    local err = run("500 Daraja body", { kind = "api", retryable = false, moved = true,
      processed = false }, nil, fault("internal"))
    assert.are.equal("500.001.1001", err.code)
  end)

  it("5xx without a body: http, OCID (ambiguous)", function()
    local err = run("502 empty body", { kind = "http", retryable = false, moved = true,
      processed = true }, nil, fault("bare502"))
    assert.are.equal(502, err.status)
  end)

  it("spike arrest: api, retryable", function()
    run("spike arrest", { kind = "api", retryable = true, processed = false }, nil, fault("spike"))
  end)

  it("quota: api, not retryable", function()
    run("quota", { kind = "api", retryable = false, processed = false }, nil, fault("quota"))
  end)

  it("answer larger than maxResponseBytes: timeout (an answer never read), OCID", function()
    local err = run("response too large", { kind = "timeout", retryable = false, moved = true,
      processed = true }, nil, fault("oversize"))
    assert.truthy(err.message:find("too large", 1, true), err.message)
    assert.are.equal("ambiguous", err.outcome)
  end)

  it("a server trickling one byte a second: timeout, OCID", function()
    local _, row = run("trickle 1 byte/s", { kind = "timeout", retryable = false, moved = true,
      processed = true }, { timeout = 2 }, fault("trickle"))
    assert.is_true(row.took < 3.5, "took " .. row.took)
  end)

  it("token request dropped: network or timeout, retryable (no money moves)", function()
    local mpesa = client()
    mpesa:close()
    local err = run("token fetch dropped", { kind = "timeout", retryable = true, sends = 0 },
      nil, fault("drop", OAUTH))
    assert.are.equal(0, rows[#rows].sends)
    assert.truthy(err)
  end)

  it("token expired mid-run: refreshed ahead, never rejected", function()
    s:reset()
    s:config({ tokenTtl = 1 })
    local mpesa = client()
    for i = 1, 3 do
      assert(mpesa.b2c.send({ recipientPhone = "0708374149", amount = 500, remarks = "Run " .. i }))
      note_wire()
      socket.sleep(1.1) -- past the token's life
    end
    mpesa:close()
    local st = s:stats()
    s:config({ tokenTtl = 3599 })
    assert.are.equal(3, st.tokensIssued)
    assert.are.equal(3, st.requests[PAYMENT]) -- no request was refused for its token
    rows[#rows + 1] = { name = "token expired mid-run", kind = "ok", sends = 1, payouts = 1, took = 0 }
  end)

  it("token invalidated by another fetch: one refresh, one retry, one payout", function()
    s:reset()
    local mpesa = client()
    assert(mpesa.b2c.send({ recipientPhone = "0708374149", amount = 500, remarks = "Warm up" }))
    note_wire()
    -- mpesa stays open: the process cache keeps its token for the next client
    local _, row = run("token invalidated by another fetch", { sends = 2, processed = true }, nil,
      function() s:token() end)
    mpesa:close()
    assert.are.equal(2, row.sends) -- refused before processing, then the retry
    assert.are.equal(3, s:stats().tokensIssued)
  end)

  it("prints the fault table", function()
    local lines = { "", string.format("    %-34s %-8s %-18s %-9s %-5s %-5s %-7s %s", "fault", "kind",
      "outcome", "retryable", "OCID", "sends", "payouts", "seconds") }
    for _, r in ipairs(rows) do
      lines[#lines + 1] = string.format("    %-34s %-8s %-18s %-9s %-5s %-5d %-7d %.2f", r.name, r.kind,
        r.outcome or "accepted", tostring(r.retryable or false), r.ocid and "yes" or "-", r.sends or 0,
        r.payouts or 0, r.took or 0)
    end
    local table_text = table.concat(lines, "\n")
    print(table_text)
    texts[#texts + 1] = table_text
    assert.is_true(#rows >= 16, #rows .. " rows")
  end)

  it("no secret in any error, tostring or output of the runs above", function()
    assert.is_string(credential)
    local secrets = { s.consumerSecret, s.initiatorPassword, credential }
    for t in pairs(tokens) do secrets[#secrets + 1] = t end
    assert.is_true(#secrets >= 5, #secrets .. " secrets") -- at least two tokens
    for _, text in ipairs(texts) do
      for _, secret in ipairs(secrets) do
        assert.is_nil(text:find(secret, 1, true), "secret found in: " .. text)
      end
    end
    assert.is_true(#texts > 200, #texts .. " texts")
  end)
end)
