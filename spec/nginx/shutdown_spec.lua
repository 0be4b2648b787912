-- Payouts in flight when nginx reloads (`nginx -s reload`, SIGHUP) or
-- shuts down gracefully (`nginx -s quit`, SIGQUIT; a binary upgrade ends
-- the old workers the same way). Each send waits 2 s on the simulator;
-- the signal comes once the simulator holds every one of them. Every
-- caller must get its acknowledgement: the money moved.
local b2c = require("b2c")
local sim = require("support.sim")
local nginx = require("support.nginx")
local json = require("cjson.safe").new()
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"
local IN_FLIGHT = 4

describe("b2c.ngx payouts in flight", function()
  local s, credential, n

  setup(function()
    local why = nginx.missing()
    assert(not why, why)
    s = sim.start({ callbackDelay = 0.05 })
    credential = assert(b2c.securityCredential(s.initiatorPassword, s.certificate))
  end)
  teardown(function()
    if s then s:stop() end
  end)
  after_each(function()
    if n then n:stop() end
    n = nil
  end)

  -- Sends IN_FLIGHT payouts held 2 s by the simulator and signals nginx
  -- once the simulator has them all. Returns the answers.
  local function payouts_across(signal, tag)
    n = nginx.start_app(s, credential, { workers = 1, threads = 8 })
    local res = assert(n:request("GET", "/pay?ocid=" .. tag .. "-warm"))  -- a token first
    assert.are.equal(200, res.status, res.body)
    local before = s:stats().requests[PAYMENT] or 0
    s:config({ fault = { spec = "delay=2", count = IN_FLIGHT, path = PAYMENT } })
    local paths = {}
    for i = 1, IN_FLIGHT do paths[i] = "/pay?ocid=" .. tag .. "-" .. i end
    local signalled
    local answers = n:concurrently("GET", paths, 20, function()
      if not signalled and (s:stats().requests[PAYMENT] or 0) >= before + IN_FLIGHT then
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
    payouts_across("HUP", "reload")
    -- The old worker has gone, a new one serves.
    local deadline = socket.gettime() + 5
    local res
    repeat
      res = n:request("GET", "/ping", nil, nil, 2)
      socket.sleep(0.05)
    until (res and res.status == 200) or socket.gettime() > deadline
    assert.are.equal(200, res and res.status)
    assert.is_nil(n:errorLog():find("exited on signal", 1, true), n:errorLog())
  end)

  it("answers every caller across `nginx -s quit`, then nginx exits", function()
    payouts_across("QUIT", "quit")
    local deadline = socket.gettime() + 5
    while n:running() and socket.gettime() < deadline do socket.sleep(0.05) end
    assert.is_false(n:running())
  end)
end)
