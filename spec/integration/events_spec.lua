-- The events hook and b2c.metrics against the simulator over real HTTP: a
-- known sequence of payouts (blocking, polled, a batch with a spike-arrest
-- retry, a refused token, a failure, a failed token fetch) gives exact
-- events, counts and histogram buckets; no event carries a secret; a hook
-- that raises breaks nothing; the ledger reports its state changes.
local b2c = require("b2c")
local events = require("b2c.events")
local ledger = require("b2c.ledger")
local metrics = require("b2c.metrics")
local sim = require("support.sim")
local tempdir = require("support.files").tempdir
local docs = require("support.docs")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

-- The page and section whose snippets are run here as written.
local PAGE, HEADING = "docs/observability.md", "In plain Lua"

-- Lua 5.1 and LuaJIT give a chunk its globals with setfenv; later Luas with load.
local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")

-- Runs code with globals from `names` (falling back to the real ones).
local function run(code, names)
  local env = setmetatable(names, { __index = _G })
  local chunk
  if setfenv then
    chunk = assert(loadstring(code, "=" .. PAGE))
    setfenv(chunk, env)
  else
    chunk = assert(load(code, "=" .. PAGE, "t", env))
  end
  return chunk()
end

-- io.stderr replaced while fn runs; returns what was written to it.
local function stderr_of(fn)
  local written = {}
  local real = io.stderr
  io.stderr = { write = function(_, ...) -- luacheck: ignore 122
    for _, s in ipairs({ ... }) do written[#written + 1] = s end
  end, flush = function() end }
  local ok, err = pcall(fn)
  io.stderr = real -- luacheck: ignore 122
  assert(ok, err)
  return table.concat(written)
end

describe("events", function()
  local ctx = sim.session({ callbackDelay = 0.05 })
  local all = {}          -- every event of every client here
  local lines = {}        -- every log line of them
  local secrets = {}      -- every secret the runs used, as seen on the wire
  local log = events.log({ writer = function(l) lines[#lines + 1] = l end })

  local function settings(hook, over)
    local cfg = ctx.s:settings({ resultUrl = ctx.receiver:urlFor("/result"),
      queueTimeOutUrl = ctx.receiver:urlFor("/timeout"), timeout = 5, events = hook })
    for k, v in pairs(over or {}) do cfg[k] = v end
    return cfg
  end

  local function payout(amount)
    return { recipientPhone = "0708374149", amount = amount or 100, remarks = "Events spec" }
  end

  -- The token and credential of the last request the simulator saw.
  local function note_wire()
    local st = ctx.s:stats()
    local auth = type(st.lastHeaders) == "table" and st.lastHeaders.authorization
    if type(auth) == "string" and auth:match("^Bearer ") then secrets[#secrets + 1] = auth:sub(8) end
    if type(st.lastPaymentRequest) == "table" and st.lastPaymentRequest.SecurityCredential then
      secrets[#secrets + 1] = st.lastPaymentRequest.SecurityCredential
    end
  end

  local function fault(spec)
    ctx.s:config({ fault = { spec = spec, count = 1, path = PAYMENT } })
  end

  local function names(list, ocid)
    local out = {}
    for _, e in ipairs(list) do
      if ocid == nil or e.ocid == ocid then out[#out + 1] = e.name end
    end
    return out
  end

  it("counts a known sequence of payouts exactly", function()
    local seen = {}
    local m = metrics.new({ buckets = { 1.9, 60 } })
    local function hook(e)
      seen[#seen + 1] = e
      all[#all + 1] = e
      log(e)
      m.event(e)
    end
    local mpesa = assert(b2c.new(settings(hook)))

    -- 1. accepted, with the first token fetched from Daraja
    local a = assert(mpesa.b2c.send(payout()))
    note_wire()
    assert.are.same({ "token.fetched", "request.sent", "request.answered", "outcome" },
      names(seen, a.OriginatorConversationID))
    assert.are.same({ name = "outcome", operation = "b2c", ocid = a.OriginatorConversationID,
      class = "accepted", status = 200, attempt = 1, latency = seen[4].latency }, seen[4])
    assert.is_true(seen[4].latency > 0)
    -- 2. accepted after a slow answer (2 ctx.s: past the bucket of 1.9 s)
    fault("delay=2")
    assert(mpesa.b2c.send(payout()))
    -- 3. refused: an HTML 403 from a gateway
    fault("html403")
    local _, err3 = mpesa.b2c.send(payout())
    assert.are.equal("rejected", err3.outcome)
    -- 4. the token revoked: refused once, fetched again, sent again
    ctx.s:revokeTokens()
    local d = assert(mpesa.b2c.send(payout()))
    note_wire()
    assert.are.same({ "request.sent", "request.answered", "token.refused", "request.retry",
      "token.fetched", "request.sent", "request.answered", "outcome" },
      names(seen, d.OriginatorConversationID))
    -- 5. polled
    local h = mpesa.b2c.start(payout())
    while mpesa:step(0.1) > 0 do end
    assert(h:result())
    assert.are.same({ "request.sent", "request.answered", "outcome" }, names(seen, h.originatorConversationId))
    -- 6. a batch of 3, one spike-arrested and sent again
    fault("spike")
    local report = mpesa.b2c.sendBatch({ payout(101), payout(102), payout(103) })
    assert.are.equal(3, report.accepted)
    assert.are.equal(1, report.spikeRetries)
    local done = seen[#seen]
    assert.are.equal("batch.done", done.name)
    assert.are.equal(3, done.accepted)
    assert.are.equal(3, done.total)
    assert.are.equal(1, done.spikeRetries)
    -- 7. a client whose consumer secret Daraja refuses: no token, nothing sent
    local bad = assert(b2c.new(settings(hook, { consumerSecret = "not-the-secret" })))
    local _, err7 = bad.b2c.send(payout())
    bad:close()
    assert.are.equal("auth", err7.kind)
    local failed = seen[#seen - 1]
    assert.are.equal("token.failed", failed.name)
    assert.are.equal("auth", failed.kind)
    assert.are.equal("unsent", seen[#seen].class)
    mpesa:close()

    local text = m:render()
    local function value(series)
      local v = text:match("\n" .. series:gsub("[%p]", "%%%0") .. " ([^\n]+)")
      return v and tonumber(v)
    end
    assert.are.equal(10, value('b2c_requests_total{operation="b2c"}'))
    assert.are.equal(7, value('b2c_answers_total{operation="b2c",status="200"}'))
    assert.are.equal(1, value('b2c_answers_total{operation="b2c",status="403"}'))
    assert.are.equal(1, value('b2c_answers_total{operation="b2c",status="404"}'))
    assert.are.equal(1, value('b2c_answers_total{operation="b2c",status="500"}'))
    assert.are.equal(9, value('b2c_answer_seconds_bucket{operation="b2c",le="1.9"}'))
    assert.are.equal(10, value('b2c_answer_seconds_bucket{operation="b2c",le="60"}'))
    assert.are.equal(10, value('b2c_answer_seconds_bucket{operation="b2c",le="+Inf"}'))
    assert.are.equal(10, value('b2c_answer_seconds_count{operation="b2c"}'))
    assert.is_true(value('b2c_answer_seconds_sum{operation="b2c"}') >= 2)
    assert.are.equal(7, value('b2c_outcomes_total{operation="b2c",class="accepted",kind="none"}'))
    assert.are.equal(1, value('b2c_outcomes_total{operation="b2c",class="rejected",kind="http"}'))
    assert.are.equal(1, value('b2c_outcomes_total{operation="b2c",class="rejected_retryable",kind="api"}'))
    assert.are.equal(1, value('b2c_outcomes_total{operation="b2c",class="unsent",kind="auth"}'))
    assert.are.equal(10, value('b2c_outcome_seconds_count{operation="b2c"}'))
    assert.are.equal(1, value('b2c_retries_total{operation="b2c",reason="spike_arrest"}'))
    assert.are.equal(1, value('b2c_retries_total{operation="b2c",reason="token_refused"}'))
    assert.are.equal(2, value('b2c_token_fetches_total{source="daraja",result="ok"}'))
    assert.are.equal(1, value('b2c_token_fetches_total{source="daraja",result="failed"}'))
    assert.are.equal(3, value('b2c_token_fetch_seconds_count'))
    assert.are.equal(1, value('b2c_token_refusals_total{operation="b2c"}'))
    -- what the simulator counted agrees
    local st = ctx.s:stats()
    assert.are.equal(10, st.requests[PAYMENT])
  end)

  it("the same events come from a query and carry its operation", function()
    local seen = {}
    local mpesa = assert(b2c.new(settings(function(e) seen[#seen + 1] = e; all[#all + 1] = e end)))
    assert(mpesa.transactionStatus.query({ originatorConversationId = "events-q-1" }))
    mpesa:close()
    local outcome = seen[#seen]
    assert.are.equal("outcome", outcome.name)
    assert.are.equal("transactionStatus", outcome.operation)
    assert.are.equal("accepted", outcome.class)
  end)

  it("a polled call reports its own token fetch, refusal and failure", function()
    local seen = {}
    local function hook(e) seen[#seen + 1] = e; all[#all + 1] = e end
    local mpesa = assert(b2c.new(settings(hook)))
    assert(mpesa.b2c.send(payout())) -- a token in the process cache, then revoked
    ctx.s:revokeTokens()
    local h = mpesa.b2c.start(payout())
    while mpesa:step(0.1) > 0 do end
    assert(h:result())
    note_wire()
    mpesa:close()
    assert.are.same({ "request.sent", "request.answered", "token.refused", "request.retry",
      "token.fetched", "request.sent", "request.answered", "outcome" },
      names(seen, h.originatorConversationId))
    local fetched = seen[#seen - 3]
    assert.are.equal("token.fetched", fetched.name)
    assert.are.equal("daraja", fetched.source)
    assert.is_true(fetched.latency >= 0)

    seen = {}
    local bad = assert(b2c.new(settings(hook, { consumerSecret = "not-the-secret-either" })))
    local b = bad.b2c.start(payout())
    while bad:step(0.1) > 0 do end
    bad:close()
    local _, err = b:result()
    assert.are.equal("auth", err.kind)
    assert.are.same({ "token.failed", "outcome" }, names(seen))
    assert.are.equal("auth", seen[1].kind)
    assert.are.equal(b.originatorConversationId, seen[1].ocid)
    assert.are.equal("unsent", seen[2].class)
  end)

  it("never carries a secret, in the events or their log lines", function()
    assert.is_true(#all > 30, #all .. " events")
    assert.is_true(#secrets >= 3, #secrets .. " secrets seen")
    local list = { ctx.s.consumerSecret, ctx.s.initiatorPassword, "not-the-secret" }
    -- "not-the-secret-either" holds "not-the-secret": one search finds both
    for _, x in ipairs(secrets) do list[#list + 1] = x end
    local texts = {}
    for _, e in ipairs(all) do
      for k, v in pairs(e) do texts[#texts + 1] = tostring(k) .. "=" .. tostring(v) end
    end
    for _, l in ipairs(lines) do
      texts[#texts + 1] = l
      assert.is_nil(l:find("\n"), l)
    end
    for _, text in ipairs(texts) do
      for _, secret in ipairs(list) do
        assert.is_nil(text:find(secret, 1, true), "secret found in: " .. text)
      end
    end
  end)

  it("a hook that raises loses no payout and no outcome, and is reported once", function()
    local calls = 0
    local mpesa = assert(b2c.new(settings(function() calls = calls + 1; error("metrics are down") end)))
    local acks = {}
    local text = stderr_of(function()
      acks[1] = mpesa.b2c.send(payout())
      local report = mpesa.b2c.sendBatch({ payout(101), payout(102) })
      acks[2], acks[3] = report.results[1].ack, report.results[2].ack
    end)
    mpesa:close()
    for i = 1, 3 do assert.is_string(acks[i].ConversationID) end
    assert.is_true(calls >= 11, calls .. " calls")
    local _, n = text:gsub("b2c: the events hook raised", "")
    assert.are.equal(1, n, text)
    assert.truthy(text:find("metrics are down", 1, true))
  end)

  it("the ledger reports its state changes and the callbacks it reads", function()
    local dir = tempdir()
    local seen = {}
    local function hook(e) seen[#seen + 1] = e end
    local book = assert(ledger.open("sqlite://" .. dir .. "/ledger.db", { events = hook }))
    local mpesa = assert(b2c.new(settings()))
    local ok, err = pcall(function()
      local p = assert(book:pay(mpesa, payout()))
      local got
      local deadline = os.time() + 5
      repeat
        for _, req in ipairs(ctx.receiver:wait(#ctx.receiver.received + 1, 0.2)) do
          if req.path == "/result" and req.raw:find(p.originatorConversationId, 1, true) then got = req end
        end
      until got or os.time() > deadline
      assert(got, "no result callback")
      assert.are.equal("paid", assert(book:applyResult(got.raw)).applied)
      assert.is_nil(book:applyResult("{not json"))
      local report = assert(book:payBatch(mpesa, { payout(201), payout(202) }))
      assert.are.equal(2, report.accepted)
      local moves = {}
      for _, e in ipairs(seen) do
        if e.name == "ledger.state" then
          moves[#moves + 1] = string.format("%s>%s x%d", tostring(e.from), e.to, e.count)
        else
          moves[#moves + 1] = e.name
        end
      end
      -- a new payout's row is stored straight as submitted
      assert.are.same({ "nil>submitted x1", "submitted>accepted x1",
        "callback.read", "accepted>paid x1", "callback.refused",
        "nil>submitted x2", "submitted>accepted x2" }, moves)
      assert.are.equal(p.originatorConversationId, seen[1].ocid)
      assert.are.equal(p.originatorConversationId, seen[3].ocid)
    end)
    mpesa:close()
    book:close()
    os.execute("rm -rf '" .. dir .. "'")
    assert(ok, err)
  end)

  it("runs the snippets of the docs' In plain Lua as written", function()
    local blocks = docs.blocks(PAGE, HEADING)
    assert.are.equal(2, #blocks)
    local vars = {
      DARAJA_KEY = ctx.s.consumerKey, DARAJA_SECRET = ctx.s.consumerSecret, DARAJA_BASE_URL = ctx.s.url,
      DARAJA_INITIATOR_PASSWORD = ctx.s.initiatorPassword, DARAJA_CERTIFICATE = ctx.s.certificate,
      B2C_RESULT_URL = ctx.receiver:urlFor("/result"), B2C_TIMEOUT_URL = ctx.receiver:urlFor("/timeout"),
    }
    local printed, written = {}, {}
    local globals = {
      os = setmetatable({ getenv = function(name) return vars[name] end }, { __index = os }),
      print = function(...) printed[#printed + 1] = table.concat({ ... }, " ") end,
      io = setmetatable({ write = function(...)
        for _, x in ipairs({ ... }) do written[#written + 1] = x end
      end }, { __index = io }),
    }
    local logged = stderr_of(function() run(blocks[1], globals) end)
    assert.are.same({ "2 accepted" }, printed)
    local text = table.concat(written)
    assert.truthy(text:find('\nb2c_outcomes_total{operation="b2c",class="accepted",kind="none"} 2\n', 1, true),
      text)
    local _, outcomes = logged:gsub("event=outcome operation=b2c ", "")
    assert.are.equal(2, outcomes, logged)
    assert.truthy(logged:find("event=batch.done operation=b2c accepted=2 ", 1, true), logged)

    local dir = tempdir()
    printed = {}
    local f = assert(io.open("spec/fixtures/daraja/b2c_result_success_docs_v3.json", "rb"))
    local body = f:read("*a")
    f:close()
    logged = stderr_of(function()
      run(blocks[2], { LEDGER_DIR = dir, RESULT_BODY = body,
        print = function(x) printed[#printed + 1] = tostring(x) end })
    end)
    os.execute("rm -rf '" .. dir .. "'")
    assert.are.same({ "unmatched", "true" }, printed)
    local _, reads = logged:gsub('"event":"callback.read","ocid":"53e3%-4aa8%-9fe0%-8fb5e4092cdd3533373"', "")
    assert.are.equal(2, reads, logged)
  end)

  it("refuses a bad events option of b2c.ledger.open", function()
    local book, err = ledger.open("sqlite:///tmp/never-opened.db", { events = 3 })
    assert.is_nil(book)
    assert.are.equal("events", err.field)
    assert.has_error(function() ledger.open("sqlite:///tmp/never-opened.db", { event = print }) end,
      "b2c.ledger.open: event: is not an option (only events is)")
  end)
end)
