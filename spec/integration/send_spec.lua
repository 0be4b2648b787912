-- mpesa.b2c.send over real HTTP against the Daraja simulator on 127.0.0.1.
local b2c = require("b2c")
local sim = require("support.sim")
local socket = require("socket")
local stub_daraja = require("support.stub_daraja")
local free_port = require("support.free_port")
local tls_proxy = require("support.tls_proxy")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("mpesa.b2c.send against the simulator", function()
  local ctx = sim.session({ callbackDelay = 0.05 }, { reset = true, freshReceiver = true })
  local seen_errors = {}   -- every error object seen here, checked for secrets at the end
  local credential         -- a known credential, so the secret check can look for it

  local function client(over)
    local cfg = {
      consumerKey = ctx.s.consumerKey, consumerSecret = ctx.s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = ctx.s.url,
      resultUrl = ctx.receiver.url, queueTimeOutUrl = ctx.receiver.url, timeout = 5,
    }
    for k, v in pairs(over or {}) do cfg[k] = v end
    return assert(b2c.new(cfg))
  end

  local function payout(over)
    local p = { recipientPhone = "0708374149", amount = 500, remarks = "Partner settlement",
      occasion = "March payout" }
    for k, v in pairs(over or {}) do p[k] = v end
    return p
  end

  -- What reached the simulator, for a count that is off: every OCID with
  -- its sends, the remarks of each payout and the last User-Agent.
  local function traffic(st)
    local lines = {}
    for ocid, n in pairs(st.sendsByOcid or {}) do lines[#lines + 1] = ocid .. " x" .. n end
    for _, p in ipairs(st.payouts or {}) do lines[#lines + 1] = tostring(p.ocid) .. ": " .. tostring(p.remarks) end
    lines[#lines + 1] = "user-agent: " .. tostring(st.lastHeaders and st.lastHeaders["user-agent"])
    return "the simulator saw:\n" .. table.concat(lines, "\n")
  end

  local function failed(ack, err)
    assert.is_nil(ack)
    assert.is_not_nil(err)
    seen_errors[#seen_errors + 1] = err
    return err
  end

  setup(function()
    credential = assert(b2c.securityCredential(ctx.s.initiatorPassword, ctx.s.certificate))
  end)

  it("sends a payout and returns Daraja's acknowledgement", function()
    local mpesa = client()
    local ack = assert(mpesa.b2c.send(payout()))
    assert.are.equal("0", ack.ResponseCode)
    assert.matches("^AG_", ack.ConversationID)
    assert.matches("^%x+%-%x+%-4%x+%-%x+%-%x+$", ack.OriginatorConversationID)
    local st = ctx.s:stats()
    assert.are.equal(1, st.sendsByOcid[ack.OriginatorConversationID])
    local p = st.payouts[1]
    assert.are.equal("254708374149", p.partyB)
    assert.are.equal(500, p.amount)
    assert.matches("^b2c%-lua/%d+%.%d+%.%d+ libcurl/", st.lastHeaders["user-agent"])
    assert.are.equal("application/json", st.lastHeaders["content-type"])
    mpesa:close()
  end)

  it("computes the credential from initiatorPassword so the simulator accepts it", function()
    local cfg = ctx.s:settings({ resultUrl = ctx.receiver.url, queueTimeOutUrl = ctx.receiver.url })
    local mpesa = assert(b2c.new(cfg))
    local ack = assert(mpesa.b2c.send(payout()))
    local got = ctx.receiver:wait(1, 5)
    local result = assert(b2c.parseDarajaResult(got[1].body))
    assert.are.equal(ack.OriginatorConversationID, result.OriginatorConversationID)
    assert.are.equal(0, result.ResultCode)
    assert.are.equal(500, b2c.getResultParametersMap(result).TransactionAmount)
    mpesa:close()
  end)

  it("uses the caller's OriginatorConversationID; Daraja refuses a reused one", function()
    local mpesa = client()
    local ack = assert(mpesa.b2c.send(payout({ originatorConversationId = "payroll-42" })))
    assert.are.equal("payroll-42", ack.OriginatorConversationID)
    local err = failed(mpesa.b2c.send(payout({ originatorConversationId = "payroll-42" })))
    assert.are.equal("api", err.kind)
    assert.are.equal("500.002.1001", err.code)
    assert.are.equal(500, err.status)
    assert.is_false(err.retryable)
    assert.are.equal("payroll-42", err.originatorConversationId)
    mpesa:close()
  end)

  it("fetches one token for 50 sends", function()
    local mpesa = client()
    for _ = 1, 50 do assert(mpesa.b2c.send(payout())) end
    local st = ctx.s:stats()
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(50, st.requests[PAYMENT], traffic(st))
    mpesa:close()
  end)

  it("accepts expires_in as a number as well as a string", function()
    ctx.s:config({ expiresInNumber = true })
    local mpesa = client()
    assert(mpesa.b2c.send(payout()))
    assert(mpesa.b2c.send(payout()))
    assert.are.equal(1, ctx.s:stats().tokensIssued)
    ctx.s:config({ expiresInNumber = false })
    mpesa:close()
  end)

  it("shares one token between clients of the same app", function()
    local a, b = client(), client()
    for _ = 1, 5 do
      assert(a.b2c.send(payout()))
      assert(b.b2c.send(payout()))
    end
    local st = ctx.s:stats()
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(10, st.requests[PAYMENT], traffic(st)) -- no request was rejected and retried
    a:close()
    b:close()
  end)

  it("refreshes the token shortly before it expires", function()
    ctx.s:config({ tokenTtl = 2 })
    local mpesa = client()
    assert(mpesa.b2c.send(payout()))
    socket.sleep(1.2) -- past the refresh point (ttl 2 s, margin 1 s), before expiry
    assert(mpesa.b2c.send(payout()))
    local st = ctx.s:stats()
    assert.are.equal(2, st.tokensIssued)
    assert.are.equal(2, st.requests[PAYMENT], traffic(st)) -- refreshed ahead, never rejected
    ctx.s:config({ tokenTtl = 3599 })
    mpesa:close()
  end)

  it("refreshes and retries once when the gateway says the token is invalid", function()
    local mpesa = client()
    assert(mpesa.b2c.send(payout()))
    ctx.s:revokeTokens()
    assert(mpesa.b2c.send(payout()))
    local st = ctx.s:stats()
    assert.are.equal(2, st.tokensIssued)
    assert.are.equal(3, st.requests[PAYMENT], traffic(st)) -- one rejected before processing, then the retry
    assert.are.equal(2, #st.payouts)
    mpesa:close()
  end)

  it("gives up after one retry and never shows the token it sent", function()
    ctx.s:config({ rejectAllTokens = true, invalidTokenStyle = "401" }) -- every token is refused
    local mpesa = client()
    local err = failed(mpesa.b2c.send(payout()))
    assert.are.equal("api", err.kind)
    assert.are.equal("401.002.01", err.code)
    assert.truthy(err.message:find("[redacted]", 1, true), err.message)
    local st = ctx.s:stats()
    assert.are.equal(2, st.tokensIssued)
    assert.are.equal(2, st.requests[PAYMENT])
    assert.are.equal(0, #st.payouts)
    ctx.s:config({ rejectAllTokens = false, invalidTokenStyle = "404" })
    mpesa:close()
  end)

  it("reports bad consumer credentials as kind auth", function()
    local mpesa = client({ consumerSecret = "wrong-secret" })
    local err = failed(mpesa.b2c.send(payout()))
    assert.are.equal("auth", err.kind)
    assert.are.equal("400.008.01", err.code)
    assert.are.equal(400, err.status)
    assert.are.equal(0, (ctx.s:stats().requests[PAYMENT] or 0))
    mpesa:close()
  end)

  it("reports a response slower than the timeout as ambiguous, with the OCID", function()
    ctx.s:config({ fault = { spec = "delay=2", count = 1, path = PAYMENT } })
    local mpesa = client({ timeout = 0.7 })
    local err = failed(mpesa.b2c.send(payout({ originatorConversationId = "slow-1" })))
    assert.are.equal("timeout", err.kind)
    assert.is_false(err.retryable)
    assert.are.equal("slow-1", err.originatorConversationId)
    assert.truthy(err.message:find("may have gone through", 1, true))
    assert.truthy(err.message:find("slow-1", 1, true))
    assert.are.equal(1, ctx.s:stats().sendsByOcid["slow-1"])
    mpesa:close()
  end)

  it("never replays a payout when a reused keep-alive connection dies after the request", function()
    local mpesa = client()
    assert(mpesa.b2c.send(payout()))           -- opens the keep-alive connection
    ctx.s:config({ fault = { spec = "drop", count = 1, path = PAYMENT } })
    local err = failed(mpesa.b2c.send(payout({ originatorConversationId = "dropped-1" })))
    assert.are.equal("timeout", err.kind)
    assert.is_false(err.retryable)
    assert.are.equal("dropped-1", err.originatorConversationId)
    socket.sleep(0.2)
    assert.are.equal(1, ctx.s:stats().sendsByOcid["dropped-1"]) -- exactly one request arrived
    assert(mpesa.b2c.send(payout()))           -- the client recovers on a new connection
    mpesa:close()
  end)

  it("reports a truncated answer as ambiguous", function()
    ctx.s:config({ fault = { spec = "truncate", count = 1, path = PAYMENT } })
    local mpesa = client()
    local err = failed(mpesa.b2c.send(payout({ originatorConversationId = "cut-1" })))
    assert.are.equal("timeout", err.kind)
    assert.is_false(err.retryable)
    assert.are.equal("cut-1", err.originatorConversationId)
    assert.are.equal(1, ctx.s:stats().sendsByOcid["cut-1"])
    mpesa:close()
  end)

  it("maps the gateway's own errors", function()
    local mpesa = client()
    ctx.s:config({ fault = { spec = "spike", count = 1, path = PAYMENT } })
    local spike = failed(mpesa.b2c.send(payout()))
    assert.are.equal("api", spike.kind)
    assert.are.equal("500.003.02", spike.code)
    assert.is_true(spike.retryable)
    ctx.s:config({ fault = { spec = "quota", count = 1, path = PAYMENT } })
    local quota = failed(mpesa.b2c.send(payout()))
    assert.are.equal("500.003.03", quota.code)
    assert.is_false(quota.retryable)
    ctx.s:config({ fault = { spec = "internal", count = 1, path = PAYMENT } })
    local internal = failed(mpesa.b2c.send(payout()))
    assert.are.equal("500.001.1001", internal.code)
    assert.truthy(internal.message:find("reconcile", 1, true))
    ctx.s:config({ fault = { spec = "html403", count = 1, path = PAYMENT } })
    local html = failed(mpesa.b2c.send(payout()))
    assert.are.equal("http", html.kind)
    assert.are.equal(403, html.status)
    assert.is_false(html.retryable)
    mpesa:close()
  end)

  it("reports a refused connection as kind network, retryable", function()
    local port = free_port() -- nothing listens there
    local mpesa = client({ baseUrl = "http://127.0.0.1:" .. port })
    local err = failed(mpesa.b2c.send(payout()))
    assert.are.equal("network", err.kind)
    assert.is_true(err.retryable)
    mpesa:close()
  end)

  describe("over https", function()
    local proxy

    setup(function()
      proxy = tls_proxy.start(ctx.s.port)
    end)
    teardown(function()
      if proxy then proxy:stop() end
    end)

    it("works with the self-signed CA given as caFile", function()
      local mpesa = client({ baseUrl = "https://localhost:" .. proxy.port,
        caFile = "spec/fixtures/tls/ca.pem" })
      for _ = 1, 3 do assert(mpesa.b2c.send(payout())) end
      mpesa:close()
    end)

    it("fails clearly without it", function()
      -- timeout: with the system's CA store to read, this send fails after
      -- 3.4 s under valgrind (0.07 s without); 5 s was too close
      local mpesa = client({ baseUrl = "https://localhost:" .. proxy.port, timeout = 60 })
      local err = failed(mpesa.b2c.send(payout()))
      assert.are.equal("network", err.kind)
      assert.is_false(err.retryable)
      assert.truthy(err.message:lower():find("certificate", 1, true), err.message)
      assert.are.equal(0, (ctx.s:stats().requests[PAYMENT] or 0))
      mpesa:close()
    end)
  end)

  it("never puts a secret in an error or tostring", function()
    assert.is_true(#seen_errors >= 10)
    local secrets = { ctx.s.consumerSecret, ctx.s.initiatorPassword, credential }
    local mpesa = client()
    assert(mpesa.b2c.send(payout()))
    local token = ctx.s:stats().lastHeaders.authorization:match("^Bearer (.+)$")
    secrets[#secrets + 1] = assert(token)
    local texts = { tostring(mpesa), tostring(mpesa.core) }
    for _, e in ipairs(seen_errors) do
      texts[#texts + 1] = tostring(e)
      for _, v in pairs(e) do texts[#texts + 1] = tostring(v) end
    end
    for _, text in ipairs(texts) do
      for _, secret in ipairs(secrets) do
        assert.is_nil(text:find(secret, 1, true), "secret found in: " .. text)
      end
    end
    mpesa:close()
  end)
end)

describe("mpesa.b2c.send against scripted answers", function()
  local function client(url)
    return assert(b2c.new({ consumerKey = "k", consumerSecret = "s", shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = "pw", baseUrl = url,
      resultUrl = "https://example.com/r", queueTimeOutUrl = "https://example.com/t", timeout = 5 }))
  end
  local payout = { recipientPhone = "0708374149", amount = 100, remarks = "Scripted",
    reference = "invoice-17" }

  it("never retries \"no apiproduct match\" like an invalid token", function()
    local stub = stub_daraja.start({ default = { status = 401, body = '{"requestId":"r-9",'
      .. '"errorCode":"401.002.01","errorMessage":"Error Occurred - Invalid API call as no '
      .. 'apiproduct match found"}' } })
    local mpesa = client(stub.url)
    local ack, err = mpesa.b2c.send(payout)
    mpesa:close()
    local posts, tokens = #stub:posts(), stub:tokens()
    stub:stop()
    assert.is_nil(ack)
    assert.are.equal("api", err.kind)
    assert.are.equal("401.002.01", err.code)
    assert.are.equal("rejected", err.outcome)
    assert.are.equal("configuration", (b2c.describe(err)))
    assert.are.equal(1, posts)   -- sent once: a fresh token cannot add a product
    assert.are.equal(1, tokens)  -- and no second token fetched
  end)

  it("reads an acknowledgement naming another OCID as ambiguous (kind timeout)", function()
    local stub = stub_daraja.start({ answers = { { status = 200, body = '{"ConversationID":"AG_x",'
      .. '"OriginatorConversationID":"not-mine","ResponseCode":"0","ResponseDescription":"ok"}' } } })
    local mpesa = client(stub.url)
    local ack, err = mpesa.b2c.send(payout)
    local ack2 = mpesa.b2c.send(payout) -- the stub's default echoes the OCID sent
    mpesa:close()
    stub:stop()
    assert.is_nil(ack)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("ambiguous", err.outcome)
    assert.matches("reconcile", err.message)
    assert.are.equal("invoice-17", err.reference)
    assert.is_string(err.originatorConversationId)
    assert.are.equal("0", ack2.ResponseCode)
    assert.are.equal("invoice-17", ack2.reference)
  end)
end)
