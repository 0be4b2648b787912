-- b2c.metrics in a real nginx with 2 workers: payouts sent on the pool
-- threads of both (b2c.ngx.send with events = "b2c_events") and the
-- callbacks read by b2c.ngx.handle_result are logged and counted in one
-- lua_shared_dict, and one GET /metrics shows them all. The nginx.conf
-- lines, the /metrics and callback locations and the b2c_events module are
-- those of docs/openresty.md, "Metrics from a location", run as written.
local nginx = require("support.nginx")
local json = require("cjson.safe").new()
local socket = require("socket")
local docs = require("support.docs")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"
local PAGE, HEADING = "docs/openresty.md", "Metrics from a location"

-- The spec's own handler: a payout through b2c.ngx.send with the settings
-- the spec writes (B2C_CONFIG of the docs' nginx.conf).
local APP = [[
local b2c_ngx = require("b2c.ngx")
local settings = require("spec_metrics_settings")
b2c_ngx.thread_pool("b2c", { maxQueue = 1024 })

local app = {}

function app.pay()
  local args = ngx.req.get_uri_args()
  local ack, err = b2c_ngx.send("b2c", settings, { recipientPhone = "0708374149",
    amount = tonumber(args.amount) or 100, remarks = "metrics spec",
    originatorConversationId = args.ocid })
  ngx.say(require("cjson").encode({ ok = ack ~= nil, class = err and err.outcome,
    pid = ngx.worker.pid() }))
end

return app
]]

describe("b2c.metrics in nginx", function()
  local s, n

  setup(function()
    local credential
    s, credential = nginx.simulator()
    local port = nginx.free_port()
    local settings = string.format("return { consumerKey = %q, consumerSecret = %q, "
      .. "shortCode = \"600996\", initiatorName = \"testapi\", securityCredential = %q, baseUrl = %q, "
      .. "resultUrl = \"http://127.0.0.1:%d/mpesa/b2c/result\", "
      .. "queueTimeOutUrl = \"http://127.0.0.1:%d/mpesa/b2c/result\", "
      .. "timeout = 10, tokenStore = \"b2c_tokens\", events = \"b2c_events\" }\n",
      s.consumerKey, s.consumerSecret, credential, s.url, port, port)
    local conf = docs.blocks(PAGE, HEADING, "nginx")
    local lua = docs.blocks(PAGE, HEADING, "lua")
    assert.are.equal(2, #conf)
    assert.are.equal(1, #lua)
    n = nginx.start({ workers = 2, threads = 4, port = port,
      http = conf[1] .. "lua_shared_dict b2c_tokens 1m;\n",
      server = conf[2] .. 'location = /pay { content_by_lua_block { require("spec_metrics_app").pay() } }\n',
      modules = { spec_metrics_settings = settings, spec_metrics_app = APP, b2c_events = lua[1] } })
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
  end)

  local function metric(text, series)
    local v = text:match("\n" .. series:gsub("[%p]", "%%%0") .. " ([^\n]+)")
    return v and tonumber(v)
  end

  it("counts the payouts and callbacks of both workers in one /metrics", function()
    local pids, sent, failed = {}, 0, 0
    local workers = 0
    -- Payouts until both workers have sent some (connections are spread
    -- by the kernel: reuseport), at most 40; one of them refused (403).
    while (workers < 2 or sent < 6) and sent + failed < 40 do
      if sent == 3 and failed == 0 then
        s:config({ fault = { spec = "html403", count = 1, path = PAYMENT } })
      end
      local res = assert(n:request("GET", "/pay?ocid=metrics-" .. (sent + failed + 1)))
      assert.are.equal(200, res.status, res.body)
      local got = assert(json.decode(res.body), res.body)
      if got.ok then
        sent = sent + 1
      else
        assert.are.equal("rejected", got.class, res.body)
        failed = failed + 1
      end
      if not pids[got.pid] then
        pids[got.pid] = true
        workers = workers + 1
      end
    end
    assert.are.equal(2, workers)
    assert.are.equal(1, failed)

    -- The callbacks come a moment later, to either worker.
    local text
    local deadline = socket.gettime() + 10
    repeat
      local res = assert(n:request("GET", "/metrics"))
      assert.are.equal(200, res.status)
      assert.truthy(res.headers["content-type"]:find("text/plain; version=0.0.4", 1, true))
      text = res.body
      socket.sleep(0.05)
    until metric(text, 'b2c_callbacks_total{callback="result",result="read"}') == sent
      or socket.gettime() > deadline
    print("\n/metrics after " .. sent + failed .. " payouts on 2 workers:\n" .. text)
    assert.are.equal(sent, metric(text, 'b2c_callbacks_total{callback="result",result="read"}'))
    assert.are.equal(sent + failed, metric(text, 'b2c_requests_total{operation="b2c"}'))
    assert.are.equal(sent, metric(text, 'b2c_outcomes_total{operation="b2c",class="accepted",kind="none"}'))
    assert.are.equal(1, metric(text, 'b2c_outcomes_total{operation="b2c",class="rejected",kind="http"}'))
    assert.are.equal(sent + failed, metric(text, 'b2c_answer_seconds_count{operation="b2c"}'))
    assert.are.equal(sent + failed, metric(text, 'b2c_answer_seconds_bucket{operation="b2c",le="+Inf"}'))
    -- one fetch from Daraja for the two workers: the other took it from the store
    assert.are.equal(1, metric(text, 'b2c_token_fetches_total{source="daraja",result="ok"}'))
    assert.are.equal(1, metric(text, 'b2c_token_fetches_total{source="store",result="ok"}'))
    assert.are.equal(sent + failed, s:stats().requests[PAYMENT])
    -- one log line per outcome, written on the pool threads
    local log = n:errorLog()
    assert.is_nil(log:find("events hook raised", 1, true), log)
    local _, outcomes = log:gsub("event=outcome operation=b2c ", "")
    assert.are.equal(sent + failed, outcomes, log)
  end)
end)
