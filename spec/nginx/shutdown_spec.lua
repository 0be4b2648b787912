-- Payouts in flight when nginx reloads (`nginx -s reload`, SIGHUP) or
-- shuts down gracefully (`nginx -s quit`, SIGQUIT; a binary upgrade ends
-- the old workers the same way). Each send waits 2 s on the simulator;
-- the signal comes once the simulator holds every one of them. Every
-- caller must get its acknowledgement: the money moved.
local nginx = require("support.nginx")
local json = require("cjson.safe").new()
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"
local IN_FLIGHT = 4

describe("b2c.ngx payouts in flight", function()
  local s, credential, n

  setup(function()
    s, credential = nginx.simulator()
  end)
  teardown(function()
    if s then s:stop() end
  end)
  after_each(function()
    if n then n:stop() end
    n = nil
  end)

  -- Sends IN_FLIGHT payouts held 2 s by the simulator (and `timers` more
  -- from ngx.timer handlers) and signals nginx once the simulator has them
  -- all. Returns the answers.
  local function payouts_across(signal, tag, timers)
    n = nginx.start_app(s, credential, { workers = 1, threads = 8 })
    local res = assert(n:request("GET", "/pay?ocid=" .. tag .. "-warm"))  -- a token first
    assert.are.equal(200, res.status, res.body)
    local before = s:stats().requests[PAYMENT] or 0
    s:config({ fault = { spec = "delay=2", count = IN_FLIGHT + timers, path = PAYMENT } })
    for i = 1, timers do
      res = assert(n:request("GET", "/pay-timer?ocid=" .. tag .. "-timer-" .. i))
      assert.are.equal(200, res.status, res.body)
    end
    local paths = {}
    for i = 1, IN_FLIGHT do paths[i] = "/pay?ocid=" .. tag .. "-" .. i end
    local signalled
    local answers = n:concurrently("GET", paths, 20, function()
      if not signalled and (s:stats().requests[PAYMENT] or 0) >= before + IN_FLIGHT + timers then
        n:signal(signal)
        signalled = socket.gettime()
      end
      socket.sleep(0.05)
    end)
    assert.is_number(signalled, "the simulator never held the payouts")
    local st = s:stats()
    for i = 1, IN_FLIGHT do
      local ocid = tag .. "-" .. i
      assert.are.equal(1, st.sendsByOcid[ocid])   -- paid once...
      assert.are.equal(200, answers[i].status, "caller " .. i .. ": " .. tostring(answers[i].body)
        .. "\n" .. n:errorLog())
      local got = assert(json.decode(answers[i].body), answers[i].body)
      assert.is_true(got.ok, got.text)              -- ...and the caller knows
      assert.are.equal(ocid, got.ack.OriginatorConversationID)
    end
    return answers
  end

  it("answers every caller across `nginx -s reload`", function()
    payouts_across("HUP", "reload", 2)
    -- A new worker serves; the sends made by the old one's timers finished
    -- too (their outcomes are in the lua_shared_dict, which a reload keeps).
    for i = 1, 2 do
      local ocid = "reload-timer-" .. i
      local res = assert(n:request("GET", "/seen?key=timer:" .. ocid, nil, nil, 2))
      assert.are.equal(200, res.status, res.body)
      local seen = json.decode(res.body)
      assert.is_string(seen.value, "the timer's send of " .. ocid .. " never finished")
      local got = json.decode(seen.value)
      assert.is_true(got.ok, seen.value)
      assert.are.equal(ocid, got.ocid)
    end
    assert.is_nil(n:errorLog():find("exited on signal", 1, true), n:errorLog())
  end)

  it("answers every caller across `nginx -s quit`, then nginx exits", function()
    payouts_across("QUIT", "quit", 0)
    local deadline = socket.gettime() + 5
    while n:running() and socket.gettime() < deadline do socket.sleep(0.05) end
    assert.is_false(n:running())
  end)
end)
