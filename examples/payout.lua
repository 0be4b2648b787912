-- The demo: payouts against b2c-sim through the payout ledger (b2c.ledger on
-- SQLite), the way a payout service runs them:
--   ledger:pay (row committed, then sent) -> callback -> ledger:applyResult -> final state
--   anything ambiguous -> unknown -> ledger:reconcile (Transaction Status) -> final state
-- Run it with `make demo` (which starts the simulator), or point it at your own
-- simulator: B2C_BASE_URL=http://127.0.0.1:PORT B2C_CERTIFICATE=/path/cert.pem
local b2c = require("b2c")
local ledger = require("b2c.ledger")
local json = require("b2c.json")
local socket = require("socket")
local http = require("socket.http")

local BASE_URL = os.getenv("B2C_BASE_URL") or "http://127.0.0.1:18080"
local CERTIFICATE = os.getenv("B2C_CERTIFICATE")
local LEDGER = os.getenv("B2C_LEDGER") or (os.tmpname() .. ".db")

-- A one-connection-at-a-time receiver for the result callbacks, on loopback.
local listener = assert(socket.bind("127.0.0.1", 0))
local _, port = listener:getsockname()
local CALLBACKS = "http://127.0.0.1:" .. port

local function receive_callback(seconds)
  listener:settimeout(seconds)
  local conn = listener:accept()
  if not conn then return nil end
  conn:settimeout(5)
  local request_line = conn:receive("*l") or ""
  local length = 0
  repeat
    local line = conn:receive("*l") or ""
    local n = line:lower():match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
  until line == ""
  local body = length > 0 and conn:receive(length) or ""
  conn:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 41\r\n"
    .. "Connection: close\r\n\r\n{\"ResultCode\":0,\"ResultDesc\":\"Accepted\"}\n")
  conn:close()
  return request_line:match("^POST (%S+)"), body
end

local function say(label, text)
  print(string.format("   %-10s %s", label, text))
end

-- How often the simulator received a payment request with this OCID
-- (nil when BASE_URL is not a simulator).
local function times_sent(ocid)
  local text = http.request(BASE_URL .. "/sim/stats")
  local stats = text and json.decode(text)
  return stats and stats.sendsByOcid and stats.sendsByOcid[ocid]
end

local book = assert(ledger.open("sqlite://" .. LEDGER))

local mpesa = assert(b2c.new({
  consumerKey = os.getenv("B2C_CONSUMER_KEY") or "sim-consumer-key",
  consumerSecret = os.getenv("B2C_CONSUMER_SECRET") or "sim-consumer-secret",
  shortCode = "600996",
  initiatorName = "testapi",
  initiatorPassword = os.getenv("B2C_INITIATOR_PASSWORD") or "Safaricom999!*!",
  certificate = CERTIFICATE,
  baseUrl = BASE_URL,
  resultUrl = CALLBACKS .. "/mpesa/b2c/result",
  queueTimeOutUrl = CALLBACKS .. "/mpesa/b2c/timeout",
}))

print(string.format("b2c %s demo: payouts against the simulator at %s", b2c._VERSION, BASE_URL))
print("   credential computed by the SDK from initiatorPassword and the simulator's certificate")
print("   ledger     sqlite://" .. LEDGER)

-- Hands every callback that arrives within `seconds` to the ledger.
local function take_callbacks(count, seconds)
  for _ = 1, count do
    local path, body = receive_callback(seconds)
    if not path then
      say("callback", "none within " .. seconds .. " s: the ledger keeps the payout unknown")
      return
    end
    local r, err
    if path:find("timeout", 1, true) then
      r, err = book:applyQueueTimeout(body)
      if r then say("timeout", "queue timeout: the payout is now " .. r.payout.state) end
    else
      r, err = book:applyResult(body)
      if r and r.verdict then
        say("status", "Transaction Status says " .. r.verdict .. " -> " .. r.applied)
      elseif r then
        say("callback", string.format("ResultCode %s: %s -> %s", tostring(r.payout.resultCode),
          tostring(r.payout.resultDesc), r.applied))
      end
    end
    if not r then say("callback", "unreadable, kept for audit: " .. tostring(err)) end
  end
end

local function final(p)
  p = book:get(p.id)
  if p.state == "paid" then
    say("final", "PAID, receipt " .. tostring(p.receipt))
  else
    say("final", p.state:upper() .. (p.resultDesc and ": " .. p.resultDesc or ""))
  end
  return p.state
end

-- One payout through the ledger; its callback (if one comes) applied.
local function payout(n, title, phone, amount, remarks)
  print(string.format("\n%d. %s: %s, KES %d", n, title, phone, amount))
  local p, err = book:pay(mpesa, { recipientPhone = phone, amount = amount,
    remarks = remarks or "Demo payout", occasion = title, reference = "demo-" .. n })
  assert(p, err)
  say("persisted", string.format("row %d, OriginatorConversationID %s", p.id, p.originatorConversationId))
  if err then
    say("error", string.format("%s (kind %s, outcome %s)", tostring(err), err.kind, err.outcome))
  else
    say("ack", "ConversationID " .. tostring(p.conversationId))
  end
  say("state", p.state)
  if p.state == "accepted" then take_callbacks(1, 10) end
  return p
end

local paid = payout(1, "Refund", "0708374149", 500)
local failed = payout(2, "Settlement from an empty account", "0700000001", 1200)
-- The connection drops after the request was read, and no result ever comes.
local dropped = payout(3, "Salary whose answer was lost", "0700009002", 2500,
  "Demo payout sim:fault=drop")
local again = assert(book:pay(mpesa, { recipientPhone = "0700009002", amount = 2500,
  remarks = "Demo payout sim:fault=drop", occasion = "Salary whose answer was lost",
  reference = "demo-3" }))
say("again", string.format("same reference: row %d (%s) returned, nothing sent", again.id, again.state))
local timed_out = payout(4, "Bonus that Daraja could not finish in time", "0700009001", 3000)

print("\n5. Reconcile: ask Transaction Status about every unknown payout")
local report = assert(book:reconcile(mpesa, { delay = 0,
  resultUrl = CALLBACKS .. "/mpesa/b2c/status" }))
say("queried", report.queried .. " payouts")
take_callbacks(report.queried, 10)

print("\nfinal states")
local states = {}
for i, p in ipairs({ paid, failed, dropped, timed_out }) do
  io.write(string.format("%d.", i))
  states[i] = final(p)
end
local sent = times_sent(dropped.originatorConversationId)
if sent then say("sent", string.format("payout 3 reached M-Pesa %d time(s)", sent)) end
mpesa:close()
listener:close()
local stats = book:stats()
book:close()
print(string.format("   ledger     %d payouts, %d paid, %d failed, %d flagged", stats.total,
  stats.byState.paid or 0, stats.byState.failed or 0, stats.attention))

local expected = { "paid", "failed", "paid", "paid" }
for i = 1, #expected do
  if states[i] ~= expected[i] then
    print(string.format("\ndemo FAILED: payout %d ended %s, expected %s", i, states[i], expected[i]))
    os.exit(1)
  end
end
if sent and sent ~= 1 then
  print("\ndemo FAILED: payout 3 was sent " .. sent .. " times")
  os.exit(1)
end
print("\ndemo done: one paid, one failure, two unknown payouts reconciled to paid, none paid twice")
