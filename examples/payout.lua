-- The demo: three payouts against b2c-sim, the way a payout service runs them.
--   persist the OCID -> send -> keep the ack -> wait for the callback -> final state
-- Run it with `make demo` (which starts the simulator), or point it at your own
-- simulator: B2C_BASE_URL=http://127.0.0.1:PORT B2C_CERTIFICATE=/path/cert.pem
local b2c = require("b2c")
local socket = require("socket")

local BASE_URL = os.getenv("B2C_BASE_URL") or "http://127.0.0.1:18080"
local CERTIFICATE = os.getenv("B2C_CERTIFICATE")
local LEDGER = os.getenv("B2C_LEDGER") or os.tmpname()

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

local function record(ocid, state, detail)
  local f = assert(io.open(LEDGER, "a"))
  f:write(string.format("%s\t%s\t%s\n", ocid, state, detail or ""))
  f:close()
end

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
print("   ledger     " .. LEDGER)

-- One payout from start to final state; returns the state.
local function payout(n, title, phone, amount)
  print(string.format("\n%d. %s: %s, KES %d", n, title, phone, amount))
  local ocid = b2c.newOriginatorConversationId()
  record(ocid, "SUBMITTING", phone .. " " .. amount)
  say("persisted", "OriginatorConversationID " .. ocid)
  local ack, err = mpesa.b2c.send({
    recipientPhone = phone, amount = amount, remarks = "Demo payout", occasion = title,
    originatorConversationId = ocid,
  })
  if not ack then
    say("error", string.format("%s (kind %s, outcome %s)", tostring(err), err.kind, err.outcome))
    if err.outcome == "ambiguous" then -- it may have been paid: never send it again blindly
      say("final", "UNKNOWN: reconcile with Transaction Status by OCID before any resend")
      record(ocid, "UNKNOWN", err.kind)
      return "UNKNOWN"
    end
    record(ocid, "ERROR", err.kind)
    return "ERROR"
  end
  record(ocid, "SUBMITTED", ack.ConversationID)
  say("ack", string.format("ConversationID %s, ResponseCode %s", ack.ConversationID, ack.ResponseCode))

  local path, body = receive_callback(10)
  if not path then
    say("final", "NO CALLBACK in 10 s: reconcile with Transaction Status by OCID")
    return "UNKNOWN"
  end
  if path:find("timeout", 1, true) then
    local note = b2c.parseQueueTimeout(body)
    say("timeout", "queue timeout for OCID " .. (note and note.OriginatorConversationID or "?"))
    say("final", "UNKNOWN: it may still complete; reconcile with Transaction Status before any resend")
    record(ocid, "TIMED_OUT")
    return "TIMED_OUT"
  end
  local result, perr = b2c.parseDarajaResult(body)
  if not result then
    say("callback", "unreadable: " .. tostring(perr))
    return "UNKNOWN"
  end
  say("callback", string.format("ResultCode %s: %s", tostring(result.ResultCode), result.ResultDesc))
  if not result.ok then
    say("final", "FAILED: nothing was paid")
    record(ocid, "FAILED", tostring(result.ResultCode))
    return "FAILED"
  end
  local params = b2c.getResultParametersMap(result)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do print(string.format("     %-36s %s", k, tostring(params[k]))) end
  say("final", "PAID, receipt " .. tostring(params.TransactionReceipt))
  record(ocid, "PAID", params.TransactionReceipt)
  return "PAID"
end

local states = {
  payout(1, "Refund", "0708374149", 500),
  payout(2, "Settlement from an empty account", "0700000001", 1200),
  payout(3, "Salary that Daraja could not finish in time", "0700009001", 2500),
}
mpesa:close()
listener:close()

local expected = { "PAID", "FAILED", "TIMED_OUT" }
for i = 1, #expected do
  if states[i] ~= expected[i] then
    print(string.format("\ndemo FAILED: payout %d ended %s, expected %s", i, states[i], expected[i]))
    os.exit(1)
  end
end
print("\ndemo done: payout completed (PAID), one failure and one queue timeout handled")
