-- The events hook's rules (b2c.events), the log line and b2c.metrics'
-- exposition text, without a network: events are fed by hand where a
-- latency must be exact.
local b2c = require("b2c")
local events = require("b2c.events")
local metrics = require("b2c.metrics")

local function settings(over)
  local cfg = { consumerKey = "key", consumerSecret = "secret", shortCode = "600996",
    initiatorName = "testapi", securityCredential = string.rep("QUJD", 8),
    baseUrl = "http://127.0.0.1:9" }
  for k, v in pairs(over or {}) do cfg[k] = v end
  return cfg
end

local function fixture(name)
  local f = assert(io.open("spec/fixtures/daraja/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- io.stderr replaced while fn runs; returns what was written to it.
local function stderr_of(fn)
  local written = {}
  local real = io.stderr
  io.stderr = { write = function(_, ...) -- luacheck: ignore 122
    for _, s in ipairs({ ... }) do written[#written + 1] = s end
  end }
  local ok, err = pcall(fn)
  io.stderr = real -- luacheck: ignore 122
  assert(ok, err)
  return table.concat(written)
end

describe("b2c.new{ events = ... }", function()
  it("takes a function", function()
    local mpesa = assert(b2c.new(settings({ events = function() end })))
    mpesa:close()
  end)

  it("takes the name of a module returning a function or a table with a function event", function()
    package.preload["spec_events_fn"] = function() return function() end end
    package.preload["spec_events_obj"] = function() return { event = function() end } end
    for _, name in ipairs({ "spec_events_fn", "spec_events_obj" }) do
      local mpesa = assert(b2c.new(settings({ events = name })))
      mpesa:close()
    end
  end)

  it("refuses anything else, naming the field and the rule, before any network call", function()
    package.preload["spec_events_number"] = function() return 7 end
    local cases = {
      { 42, "events: must be a function(event) or the name of a module that returns one, got number" },
      { {}, "events: must be a function(event) or the name of a module that returns one, got table" },
      { "spec_events_number", 'events: module "spec_events_number" must return a function(event) '
        .. "or a table with a function event, got number" },
      { "spec.no_such_events_module", 'events: module "spec.no_such_events_module" could not be '
        .. "loaded: module 'spec.no_such_events_module' not found:" },
    }
    for _, case in ipairs(cases) do
      local mpesa, err = b2c.new(settings({ events = case[1] }))
      assert.is_nil(mpesa)
      assert.are.equal("config", err.kind)
      assert.are.equal("events", err.field)
      assert.are.equal(case[2], err.message)
    end
  end)
end)

describe("a hook that raises", function()
  it("is caught, reported once on stderr, and counted", function()
    local calls = 0
    local function hook(e)
      calls = calls + 1
      error("boom on " .. e.name)
    end
    local emit = events.emitter(hook)
    local text = stderr_of(function()
      emit({ name = "request.sent" })
      emit({ name = "outcome" })
      emit({ name = "outcome" })
    end)
    assert.are.equal(3, calls)
    assert.are.equal(3, events.failures(hook))
    local _, lines = text:gsub("\n", "")
    assert.are.equal(1, lines)
    assert.truthy(text:find("b2c: the events hook raised on request.sent (", 1, true))
    assert.truthy(text:find("boom on request.sent", 1, true))
  end)

  it("is no hook at all when nil", function()
    assert.is_nil(events.emitter(nil))
  end)
end)

describe("b2c.events.log", function()
  local T = 1798758000 -- 2026-12-31T23:00:00Z

  local function line_of(event, format)
    local lines = {}
    local hook = events.log({ writer = function(l) lines[#lines + 1] = l end, format = format,
      clock = function() return T end })
    hook(event)
    assert.are.equal(1, #lines)
    return lines[1]
  end

  it("writes one logfmt line: time, event, operation, ocid, then the rest by name", function()
    assert.are.equal("time=2026-12-31T23:00:00Z event=outcome operation=b2c ocid=abc-1 class=ambiguous "
      .. "kind=timeout latency=1.5 message=\"no answer \\\"at all\\\"\\x0a(after 30 s)\" status=502",
      line_of({ name = "outcome", operation = "b2c", ocid = "abc-1", class = "ambiguous",
        kind = "timeout", latency = 1.5, status = 502,
        message = 'no answer "at all"\n(after 30 s)' }))
  end)

  it("writes one JSON object per line", function()
    local line = line_of({ name = "request.answered", operation = "b2pochi", ocid = "o\n1",
      status = 200, latency = 0.25, ok = true }, "json")
    assert.are.equal('{"time":"2026-12-31T23:00:00Z","event":"request.answered","operation":"b2pochi",'
      .. '"ocid":"o\\n1","latency":0.25,"ok":true,"status":200}', line)
    assert.is_nil(line:find("\n"))
  end)

  it("writes to a file with a newline", function()
    local got = {}
    local file = { write = function(_, ...) for _, s in ipairs({ ... }) do got[#got + 1] = s end end }
    events.log({ writer = file, clock = function() return T end })({ name = "token.fetched",
      source = "daraja", latency = 0.125 })
    assert.are.equal("time=2026-12-31T23:00:00Z event=token.fetched latency=0.125 source=daraja\n",
      table.concat(got))
  end)

  it("refuses bad options", function()
    assert.has_error(function() events.log({ format = "xml" }) end,
      'b2c.events.log: format: must be "logfmt" or "json"')
    assert.has_error(function() events.log({ writer = 5 }) end,
      "b2c.events.log: writer: must be a function(line) or a file")
    assert.has_error(function() events.log({ level = 1 }) end,
      "b2c.events.log: level: is not an option (writer, format, clock)")
  end)
end)

describe("b2c.metrics", function()
  local function feed(m, list)
    for _, e in ipairs(list) do m.event(e) end
  end

  it("renders counters and histograms exactly for a known sequence of events", function()
    local m = metrics.new({ buckets = { 0.1, 1 } })
    feed(m, {
      { name = "token.fetched", source = "daraja", latency = 0.05 },
      { name = "request.sent", operation = "b2c", ocid = "a", attempt = 1 },
      { name = "request.answered", operation = "b2c", ocid = "a", status = 200, latency = 0.05 },
      { name = "outcome", operation = "b2c", ocid = "a", class = "accepted", latency = 0.1 },
      { name = "request.sent", operation = "b2c", ocid = "b", attempt = 1 },
      { name = "request.answered", operation = "b2c", ocid = "b", status = 500, latency = 2 },
      { name = "outcome", operation = "b2c", ocid = "b", class = "rejected_retryable", kind = "api",
        latency = 2 },
      { name = "request.retry", operation = "b2c", ocid = "b", reason = "spike_arrest", try = 2 },
      { name = "token.failed", kind = "auth", latency = 0.5 },
      { name = "callback.read", callback = "result", ocid = "a" },
      { name = "callback.refused", callback = "queueTimeout" },
      { name = "ledger.state", from = "created", to = "submitted", count = 3 },
      { name = "batch.progress", operation = "b2c", done = 1, total = 2 },
    })
    assert.are.equal([[
# HELP b2c_requests_total Requests handed to the transport, by operation (a resend counts again).
# TYPE b2c_requests_total counter
b2c_requests_total{operation="b2c"} 2
# HELP b2c_answers_total Complete HTTP answers from Daraja, by operation and status.
# TYPE b2c_answers_total counter
b2c_answers_total{operation="b2c",status="200"} 1
b2c_answers_total{operation="b2c",status="500"} 1
# HELP b2c_answer_seconds Seconds from handing a request to the transport to its answer.
# TYPE b2c_answer_seconds histogram
b2c_answer_seconds_bucket{operation="b2c",le="0.1"} 1
b2c_answer_seconds_bucket{operation="b2c",le="1"} 1
b2c_answer_seconds_bucket{operation="b2c",le="+Inf"} 2
b2c_answer_seconds_sum{operation="b2c"} 2.05
b2c_answer_seconds_count{operation="b2c"} 2
# HELP b2c_outcomes_total Calls ended, by operation, outcome class and error kind (none when accepted).
# TYPE b2c_outcomes_total counter
b2c_outcomes_total{operation="b2c",class="accepted",kind="none"} 1
b2c_outcomes_total{operation="b2c",class="rejected_retryable",kind="api"} 1
# HELP b2c_outcome_seconds Seconds from the start of a call to its outcome, token included.
# TYPE b2c_outcome_seconds histogram
b2c_outcome_seconds_bucket{operation="b2c",le="0.1"} 1
b2c_outcome_seconds_bucket{operation="b2c",le="1"} 1
b2c_outcome_seconds_bucket{operation="b2c",le="+Inf"} 2
b2c_outcome_seconds_sum{operation="b2c"} 2.1
b2c_outcome_seconds_count{operation="b2c"} 2
# HELP b2c_retries_total Requests sent again, by operation and reason.
# TYPE b2c_retries_total counter
b2c_retries_total{operation="b2c",reason="spike_arrest"} 1
# HELP b2c_token_fetches_total Access tokens obtained or not, by source (daraja, store) and result.
# TYPE b2c_token_fetches_total counter
b2c_token_fetches_total{source="daraja",result="failed"} 1
b2c_token_fetches_total{source="daraja",result="ok"} 1
# HELP b2c_token_fetch_seconds Seconds a token fetch from Daraja took.
# TYPE b2c_token_fetch_seconds histogram
b2c_token_fetch_seconds_bucket{le="0.1"} 1
b2c_token_fetch_seconds_bucket{le="1"} 2
b2c_token_fetch_seconds_bucket{le="+Inf"} 2
b2c_token_fetch_seconds_sum 0.55
b2c_token_fetch_seconds_count 2
# HELP b2c_callbacks_total Callbacks read or refused, by callback (result, queueTimeout) and result.
# TYPE b2c_callbacks_total counter
b2c_callbacks_total{callback="queueTimeout",result="refused"} 1
b2c_callbacks_total{callback="result",result="read"} 1
# HELP b2c_ledger_transitions_total Ledger payouts moved from one state to another.
# TYPE b2c_ledger_transitions_total counter
b2c_ledger_transitions_total{from="created",to="submitted"} 3
]], m:render())
  end)

  it("renders nothing before any event, and escapes label values", function()
    local m = metrics.new()
    assert.are.equal("", m:render())
    m.event({ name = "request.sent", operation = 'odd"op\\\n' })
    assert.truthy(m:render():find('b2c_requests_total{operation="odd\\"op\\\\\\n"} 1', 1, true))
  end)

  it("refuses bad options, and a dict outside nginx", function()
    assert.has_error(function() metrics.new({ buckets = { 1, 0.5 } }) end,
      "b2c.metrics.new: buckets: must be a list of seconds in ascending order (finite, > 0)")
    assert.has_error(function() metrics.new({ size = 1 }) end,
      "b2c.metrics.new: size: is not an option (dict, buckets)")
    assert.has_error(function() metrics.new({ dict = "b2c_metrics" }) end,
      "b2c.metrics.new: dict: no lua_shared_dict named b2c_metrics (declare it in nginx.conf: "
      .. "lua_shared_dict b2c_metrics 1m;)")
  end)
end)

describe("callback events", function()
  it("reports a result read and one refused, with the OCID", function()
    local seen = {}
    local opts = { events = function(e) seen[#seen + 1] = e end }
    assert(b2c.parseDarajaResult(fixture("b2c_result_success_docs_v3.json"), opts))
    assert.is_nil(b2c.parseDarajaResult('{"Result":{"OriginatorConversationID":"forged-1"}}', opts))
    assert(b2c.parseQueueTimeout('{"OriginatorConversationID":"q-1"}', opts))
    assert.are.same({ name = "callback.read", callback = "result", ocid = "53e3-4aa8-9fe0-8fb5e4092cdd3533373",
      conversationId = "AG_20240706_2010364430d9bbdaf872", resultCode = 0, ok = true }, seen[1])
    assert.are.equal("callback.refused", seen[2].name)
    assert.are.equal("result", seen[2].callback)
    assert.are.equal("forged-1", seen[2].ocid)
    assert.is_string(seen[2].reason)
    assert.are.same({ name = "callback.read", callback = "queueTimeout", ocid = "q-1" }, seen[3])
  end)

  it("needs a function, and never lets the hook's error out", function()
    assert.has_error(function() b2c.parseDarajaResult("{}", { events = "x" }) end,
      "b2c.parseDarajaResult: options.events must be a function")
    local r
    stderr_of(function()
      r = b2c.parseDarajaResult(fixture("b2c_result_success_docs_v3.json"),
        { events = function() error("hook down") end })
    end)
    assert.is_true(r.ok)
  end)
end)
