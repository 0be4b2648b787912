-- The console's port (--console-port, --ledger), the control actions its
-- buttons use (POST /sim/deliver, /sim/queue-timeout, /sim/redeliver,
-- /sim/fault; the same code on both ports) and the terminal log's one
-- line per payout and per callback delivery. spec/browser drives the page
-- itself in Chromium.
local b2c = require("b2c")
local sim = require("support.sim")
local socket = require("socket")
local H = require("sim.helper")
local files = require("support.files")
local postgres = require("support.postgres")

local function console_url(s)
  local deadline = socket.gettime() + 5
  repeat
    local url = (files.read(s.outFile) or ""):match("b2c%-sim console on (http://%S+)/")
    if url then return url end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  error("b2c-sim printed no console line")
end

local function act(base, name, body)
  return assert(sim.request(base, "POST", "/sim/" .. name, { json = body or {} }))
end

describe("#lua54 the simulator console", function()
  local s, r, token, base

  before_each(function()
    s = sim.start({ callbackDelay = 600, args = { "--console-port", "0", "--log" } })
    r = sim.receiver()
    token = s:token()
    base = console_url(s)
  end)

  after_each(function()
    r:close()
    s:stop()
  end)

  local function pay(over)
    local body = H.payment(s, r, s:credential(), over)
    local res = H.post(s, H.PAY, body, token)
    assert.are.equal(200, res.status, res.body)
    return body.OriginatorConversationID
  end

  it("serves one self-contained page and the state it polls", function()
    local page = assert(sim.request(base, "GET", "/"))
    assert.are.equal(200, page.status)
    assert.truthy(page.headers["content-type"]:find("text/html", 1, true))
    assert.truthy(page.body:find("send a queue timeout", 1, true))
    -- nothing loaded from elsewhere: no src= or href= attribute, no CSS import
    assert.is_nil(page.body:find("src=", 1, true))
    assert.is_nil(page.body:find("href=", 1, true))
    assert.is_nil(page.body:find("@import", 1, true))

    local ocid = pay()
    assert(H.post(s, H.PAY, H.payment(s, r, s:credential(), { PartyB = "254700000001" }), token))
    local st = assert(sim.request(base, "GET", "/state")).json
    assert.are.equal(2, st.payoutsTotal)
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(1, st.tokensValid)
    assert.are.equal(2, #st.callbacks)
    assert.are.equal("failed", st.payouts[1].state)          -- newest first
    assert.are.equal("insufficient-funds", st.payouts[1].scenario)
    assert.are.same({ ocid = ocid, api = "b2c", commandId = "BusinessPayment", recipient = "254708374149",
      amount = 500, scenario = "success", state = "completed", resultCode = 0, receipt = st.payouts[2].receipt },
      st.payouts[2])
    assert.are.same({ completed = 1, failed = 1, refused = 0, dropped = 0 }, st.outcomes)
    local payouts = 0
    for _, second in ipairs(st.series) do payouts = payouts + second.payouts end
    assert.are.equal(2, payouts)
    assert.is_nil(st.ledger)
    assert.are.equal(405, assert(sim.request(base, "POST", "/state")).status)
    assert.are.equal(404, assert(sim.request(base, "GET", "/nothing")).status)
  end)

  it("deliver: the waiting result goes out now; a second deliver is refused", function()
    local ocid = pay()
    assert.are.equal(0, #r:collect(0.3))
    local res = act(base, "deliver", { ocid = ocid })
    assert.are.equal(200, res.status, res.body)
    assert.are.equal(1, res.json.hurried)
    local got = r:wait(1, 10)
    assert.are.equal("/result", got[1].path)
    assert.are.equal(ocid, got[1].body.Result.OriginatorConversationID)
    assert.are.equal(0, got[1].body.Result.ResultCode)
    local again = act(base, "deliver", { ocid = ocid })
    assert.are.equal(409, again.status)
    assert.truthy(again.json.errorMessage:find("redeliver", 1, true))
    assert.are.equal(404, act(base, "deliver", { ocid = "no-such" }).status)
  end)

  it("deliver: a scenario that sends no result gets one", function()
    local ocid = pay({ PartyB = "254700009002" })  -- no-callback
    local res = act(s.url, "deliver", { ocid = ocid })  -- the gateway's port: the same action
    assert.are.equal(200, res.status, res.body)
    assert.is_number(res.json.callback)
    local got = r:wait(1, 10)
    assert.are.equal("/result", got[1].path)
    assert.are.equal(ocid, got[1].body.Result.OriginatorConversationID)
  end)

  it("queue-timeout: the request echoed to QueueTimeOutURL, the result still waiting", function()
    local ocid = pay()
    local res = act(base, "queue-timeout", { ocid = ocid })
    assert.are.equal(200, res.status, res.body)
    local got = r:wait(1, 10)
    assert.are.equal("/timeout", got[1].path)
    assert.are.equal(ocid, got[1].body.OriginatorConversationID)
    assert.is_nil(got[1].body.SecurityCredential)
    -- the simulator counts the delivery once it has read the receiver's answer
    local st
    local deadline = socket.gettime() + 10
    repeat
      st = s:stats()
      socket.sleep(0.02)
    until st.callbacksDelivered == 1 or socket.gettime() > deadline
    assert.are.equal(2, st.callbacksTotal)
    assert.are.equal(1, st.callbacksDelivered)
    assert.are.equal(1, st.callbacksPending)
  end)

  it("redeliver: the same body to the same URL again", function()
    local ocid = pay()
    act(base, "deliver", { ocid = ocid })
    local first = r:wait(1, 10)[1]
    local id = s:stats().callbacks[1].id
    local res = act(base, "redeliver", { id = id })
    assert.are.equal(200, res.status, res.body)
    local got = r:wait(2, 10)
    assert.are.equal(2, #got)
    assert.are.equal(first.raw, got[2].raw)
    assert.are.equal(id, s:stats().callbacks[2].redelivery)
    assert.are.equal(404, act(base, "redeliver", { id = 999 }).status)
    assert.are.equal(404, act(base, "redeliver", {}).status)
    assert.are.equal(400, assert(sim.request(base, "POST", "/sim/redeliver", { body = "[1" })).status)
  end)

  it("fault: drop the next request, then answer again; revoke the token", function()
    local res = act(base, "fault", { spec = "drop", count = 1 })
    assert.are.equal(200, res.status, res.body)
    assert.are.same({ { spec = "drop", count = 1 } }, res.json.faults)
    local dropped = s:request("POST", H.PAY, { json = H.payment(s, r, s:credential()),
      headers = { Authorization = "Bearer " .. token } })
    assert.is_true(dropped == nil or dropped.status == nil)
    pay()
    local st = assert(sim.request(base, "GET", "/state")).json
    assert.are.same({}, st.faults)
    assert.are.equal(1, st.outcomes.dropped)
    assert.are.equal(400, act(base, "fault", { spec = "nonsense" }).status)

    assert.are.equal(200, act(base, "revoke-tokens").status)
    assert.are.equal(404, H.post(s, H.PAY, H.payment(s, r, s:credential()), token).status)
  end)

  it("logs one line per payout and per callback delivery", function()
    local ocid = pay()
    act(base, "deliver", { ocid = ocid })
    r:wait(1, 10)
    local deadline = socket.gettime() + 5
    local log
    repeat
      log = s:stderr()
      if log:find("callback #", 1, true) then break end
      socket.sleep(0.05)
    until socket.gettime() > deadline
    assert.truthy(log:find("b2c-sim: payout b2c ocid=" .. ocid .. " to=254708374149 amount=500 scenario=success"
      .. " -> completed code=0 receipt=", 1, true), log)
    assert.truthy(log:find("b2c-sim: callback #1 result ocid=" .. ocid .. " to=" .. r:urlFor("/result")
      .. " delivered HTTP 200 attempts=1/3 in ", 1, true), log)
  end)
end)

describe("#lua54 the console's options", function()
  it("refuses a console port that is not a port, naming the option", function()
    for _, bad in ipairs({ "x", "70000", "1.5" }) do
      local ok, err = pcall(sim.start, { args = { "--console-port", bad } })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("--console-port", 1, true), err)
    end
  end)

  it("serves no console unless asked", function()
    local s = sim.start()
    finally(function() s:stop() end)
    s:stats()
    assert.is_nil((files.read(s.outFile) or ""):find("b2c-sim console on", 1, true))
  end)
end)

describe("#lua54 the simulator console on every address", function()
  it("answers loopback clients only", function()
    local p = io.popen("hostname -I 2>/dev/null")
    local address = (p:read("a") or ""):match("(%d+%.%d+%.%d+%.%d+)")
    p:close()
    if not address or address:match("^127%.") then
      pending("no IPv4 address besides loopback on this machine")
      return
    end
    local s = sim.start({ args = { "--host", "0.0.0.0", "--console-port", "0" } })
    finally(function() s:stop() end)
    local port = console_url(s):match(":(%d+)$")
    assert.are.equal(200, assert(sim.request("http://127.0.0.1:" .. port, "GET", "/state")).status)
    for _, path in ipairs({ "/", "/state" }) do
      local res = assert(sim.request("http://" .. address .. ":" .. port, "GET", path))
      assert.are.equal(403, res.status)
    end
    local res = assert(sim.request("http://" .. address .. ":" .. port, "POST", "/sim/revoke-tokens"))
    assert.are.equal(403, res.status)
  end)
end)

describe("#lua54 the simulator console with a ledger", function()
  local function shows_by_state(url, later)
    local book = assert(require("b2c.ledger").open(url))
    later(function() book:close() end)
    local s = sim.start({ callbackDelay = 600, args = { "--ledger", url } })
    later(function() s:stop() end)
    local base = console_url(s)
    local mpesa = assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = s.initiatorPassword, certificate = s.certificate,
      baseUrl = s.url, resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere", timeout = 5,
    }))
    for i = 1, 2 do
      assert(book:pay(mpesa, { reference = "console-" .. i, recipientPhone = "0708374149", amount = 100,
        remarks = "Console spec" }))
    end
    local st = assert(sim.request(base, "GET", "/state")).json
    assert.are.equal(url, st.ledger.url)
    assert.are.equal(2, st.ledger.total)
    assert.are.same({ accepted = 2 }, st.ledger.byState)
    assert.are.equal("console-2", st.ledger.newest[1].reference)
  end

  it("shows the ledger's payouts by state (SQLite)", function()
    local later = require("support.cleanup")(finally)
    local dir = files.tempdir()
    later(function() os.execute("rm -rf '" .. dir .. "'") end)
    shows_by_state("sqlite://" .. dir .. "/ledger.db", later)
  end)

  it("shows the ledger's payouts by state (PostgreSQL)", function()
    local pg, why = postgres.start()
    if not pg then
      pending("PostgreSQL not available: " .. tostring(why))
      return
    end
    local later = require("support.cleanup")(finally)
    later(function() pg:stop() end)
    pg:createdb("console")
    shows_by_state(pg:url("console"), later)
  end)

  it("refuses a ledger URL it cannot open, naming it", function()
    local ok, err = pcall(sim.start, { args = { "--ledger", "mysql://nowhere" } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("--ledger mysql://nowhere", 1, true), err)
  end)
end)
