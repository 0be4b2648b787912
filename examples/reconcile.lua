-- Reconciliation against b2c-sim: "did this person get paid?" always gets an answer.
--   persist the OCID -> send -> result callback: mark paid / failed
--   queue timeout, an error whose err.outcome is "ambiguous", or no callback in time:
--     query Transaction Status by OCID -> act on the verdict
--       completed: mark paid (never pay again)
--       failed / not_found: pay again with a NEW OCID
--       pending: wait and query again
-- Start a simulator and point this at it:
--   lua5.4 sim/bin/b2c-sim --port 0 --callback-delay 0.1 &   # prints the URL and certificate
--   B2C_BASE_URL=http://127.0.0.1:PORT B2C_CERTIFICATE=/path/sim-cert.pem \
--   LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/?.so;;" lua5.4 examples/reconcile.lua
local b2c = require("b2c")
local socket = require("socket")

local BASE_URL = os.getenv("B2C_BASE_URL") or "http://127.0.0.1:18080"
local CERTIFICATE = os.getenv("B2C_CERTIFICATE")
-- How long to wait for a result callback before asking Transaction Status:
-- minutes in production (give M-Pesa time to finish, so that "not found"
-- really means it never arrived); seconds against the simulator.
local CALLBACK_WAIT = tonumber(os.getenv("B2C_CALLBACK_WAIT") or "") or 2

---------------------------------------------------------------------------
-- Callbacks: a small receiver on loopback. Callbacks that arrive while we
-- wait for another one are kept for later.
local listener = assert(socket.bind("127.0.0.1", 0))
local _, port = listener:getsockname()
local CALLBACKS = "http://127.0.0.1:" .. port
local inbox = {}

local function accept_one(seconds)
  listener:settimeout(seconds)
  local conn = listener:accept()
  if not conn then return false end
  conn:settimeout(5)
  local path = (conn:receive("*l") or ""):match("^POST (%S+)")
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
  inbox[#inbox + 1] = { path = path, body = body }
  return true
end

-- The first callback for which match(path, body) is true, within seconds.
local function next_callback(match, seconds)
  local deadline = socket.gettime() + seconds
  while true do
    for i, c in ipairs(inbox) do
      if match(c.path, c.body) then return table.remove(inbox, i) end
    end
    local left = deadline - socket.gettime()
    if left <= 0 or not accept_one(left) then return nil end
  end
end

---------------------------------------------------------------------------
-- The ledger: in a real service a database table, written before sending.
local ledger, order = {}, {}

local function record(ocid, fields)
  local row = ledger[ocid]
  if not row then
    row = { ocid = ocid }
    ledger[ocid] = row
    order[#order + 1] = ocid
  end
  for k, v in pairs(fields) do row[k] = v end
  return row
end

local function say(label, text)
  print(string.format("   %-10s %s", label, text))
end

local mpesa = assert(b2c.new({
  consumerKey = os.getenv("B2C_CONSUMER_KEY") or "sim-consumer-key",
  consumerSecret = os.getenv("B2C_CONSUMER_SECRET") or "sim-consumer-secret",
  shortCode = "600996", initiatorName = "testapi",
  initiatorPassword = os.getenv("B2C_INITIATOR_PASSWORD") or "Safaricom999!*!",
  certificate = CERTIFICATE, baseUrl = BASE_URL, timeout = 3,
  resultUrl = CALLBACKS .. "/mpesa/b2c/result",
  queueTimeOutUrl = CALLBACKS .. "/mpesa/b2c/timeout",
}))

---------------------------------------------------------------------------
-- Transaction Status by OCID, waiting for its callback; returns the verdict.
local function query_status(ocid)
  local ack, err = mpesa.transactionStatus.query({
    originatorConversationId = ocid,
    resultUrl = CALLBACKS .. "/mpesa/status/result",
    queueTimeOutUrl = CALLBACKS .. "/mpesa/status/timeout",
  })
  if not ack then
    say("status", "query not sent: " .. tostring(err) .. " (safe to ask again)")
    return { verdict = "pending", advice = "ask again" }
  end
  local cb = next_callback(function(path, body)
    return path == "/mpesa/status/result" and body:find(ack.ConversationID, 1, true) ~= nil
  end, 10)
  if not cb then return { verdict = "pending", advice = "no status answer yet: ask again later" } end
  local verdict, verr = b2c.statusVerdict(cb.body)
  if not verdict then return { verdict = "pending", advice = tostring(verr) } end
  return verdict
end

-- Sends one payout (a new OCID each time) and follows it to a final state.
local function pay(phone, amount, remarks)
  local ocid = b2c.newOriginatorConversationId()
  record(ocid, { phone = phone, amount = amount, state = "SUBMITTING" })   -- persist first
  say("persisted", "OCID " .. ocid)
  local ack, err = mpesa.b2c.send({ recipientPhone = phone, amount = amount, remarks = remarks,
    originatorConversationId = ocid })
  local uncertain
  if ack then
    record(ocid, { state = "SUBMITTED", conversationId = ack.ConversationID })
    say("ack", "ConversationID " .. ack.ConversationID)
  else
    local class, advice = b2c.describe(err)
    say("error", string.format("%s [%s, %s, %s]", tostring(err), err.kind, err.outcome, class))
    -- err.outcome says what happened to the money: only "ambiguous" may have paid.
    if err.outcome ~= "ambiguous" then
      record(ocid, { state = err.outcome == "unsent" and "UNSENT" or "REJECTED" })
      say("advice", advice)
      return ocid
    end
    -- It may have gone through: a result callback may still come.
    uncertain = err.kind == "timeout" and "the send timed out" or "ambiguous error " .. tostring(err.code)
  end
  local cb = next_callback(function(path, body)
    return path:find("^/mpesa/b2c/") and body:find(ocid, 1, true) ~= nil
  end, CALLBACK_WAIT)
  if cb and cb.path == "/mpesa/b2c/result" then
    local result = assert(b2c.parseDarajaResult(cb.body))
    local class, advice = b2c.describe(result)
    if result.ok then
      local receipt = b2c.getResultParametersMap(result).TransactionReceipt
      record(ocid, { state = "PAID", receipt = receipt })
      say("callback", "paid, receipt " .. tostring(receipt))
    else
      record(ocid, { state = "FAILED", code = result.ResultCode })
      say("callback", string.format("failed: ResultCode %s (%s): %s", tostring(result.ResultCode),
        class, advice))
    end
    return ocid
  elseif cb then
    uncertain = "queue timeout (not a failure)"
  else
    uncertain = (uncertain and uncertain .. ", and " or "") .. "no callback within " .. CALLBACK_WAIT .. " s"
  end

  -- The outcome is unknown: ask M-Pesa, never resend blindly.
  record(ocid, { state = "UNKNOWN" })
  say("unknown", uncertain .. ": query Transaction Status by OCID")
  local v = query_status(ocid)
  local facts = v.receipt and (", receipt " .. v.receipt .. ", KES " .. tostring(v.amount)) or ""
  say("verdict", v.verdict .. facts)
  if v.verdict == "completed" then
    record(ocid, { state = "PAID", receipt = v.receipt })
  elseif v.verdict == "failed" or v.verdict == "not_found" then
    record(ocid, { state = "NOT_PAID" })
    say("retry", "safe to pay again, with a new OCID")
    local again = pay(phone, amount, "Reconciled retry")
    record(ocid, { retriedAs = again })
  else
    say("wait", v.advice)
  end
  return ocid
end

print(string.format("b2c %s reconciliation example against %s", b2c._VERSION, BASE_URL))

print("\n0. Balance before the run")
local ack = assert(mpesa.accountBalance.query({ resultUrl = CALLBACKS .. "/mpesa/balance/result" }))
local cb = next_callback(function(path, body)
  return path == "/mpesa/balance/result" and body:find(ack.ConversationID, 1, true) ~= nil
end, 10)
local accounts = cb and b2c.parseAccountBalance(cb.body)
local utility = accounts and accounts["Utility Account"]
say("utility", utility and string.format("%s %.2f", utility.currency, utility.amount) or "unknown")

print("\n1. A payout whose send timed out, but which completed (no callback either)")
local first = pay("0700009002", 2500, "Salary sim:fault=drop")

print("\n2. A payout that never reached M-Pesa (an ambiguous 500 from the gateway)")
local second = pay("0708374149", 1200, "Refund sim:fault=internal")

print("\n3. A payout that ended in a queue timeout, and completed")
local third = pay("0700009001", 800, "Settlement")

mpesa:close()
listener:close()

print("\nledger:")
for _, ocid in ipairs(order) do
  local r = ledger[ocid]
  print(string.format("   %s  %-8s KES %-5d %s%s", ocid, r.state, r.amount, r.receipt or "",
    r.retriedAs and ("retried as " .. r.retriedAs) or ""))
end

local ok = ledger[first].state == "PAID" and ledger[third].state == "PAID"
  and ledger[second].state == "NOT_PAID" and ledger[ledger[second].retriedAs].state == "PAID"
if not ok then
  print("\nreconcile example FAILED")
  os.exit(1)
end
print("\nreconcile example done: every payout has an answer, and nobody was paid twice")
