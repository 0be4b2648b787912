-- Shared bits of the simulator's specs.
local sim = require("support.sim")

local H = {}

H.OAUTH = "/oauth/v1/generate?grant_type=client_credentials"
H.PAY = "/mpesa/b2c/v3/paymentrequest"
H.STATUS = "/mpesa/transactionstatus/v1/query"
H.BALANCE = "/mpesa/accountbalance/v1/query"

local counter = 0

--- A unique OriginatorConversationID.
function H.ocid(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix or "spec", os.time(), counter)
end

--- A valid B2C v3 body; `over` replaces fields (false removes one).
function H.payment(s, receiver, credential, over)
  local body = {
    OriginatorConversationID = H.ocid(),
    InitiatorName = "testapi",
    SecurityCredential = credential,
    CommandID = "BusinessPayment",
    Amount = 500,
    PartyA = "600992",
    PartyB = "254708374149",
    Remarks = "spec payout",
    QueueTimeOutURL = receiver and receiver:urlFor("/timeout") or (s.url .. "/nowhere"),
    ResultURL = receiver and receiver:urlFor("/result") or (s.url .. "/nowhere"),
    Occasion = "spec",
  }
  for k, v in pairs(over or {}) do
    body[k] = v or nil
  end
  return body
end

--- POST JSON with a Bearer token.
function H.post(s, path, body, token, headers)
  local h = { Authorization = "Bearer " .. token }
  for k, v in pairs(headers or {}) do
    h[k] = v
  end
  return assert(s:request("POST", path, { json = body, headers = h }))
end

--- Key -> Value map of a Result's ResultParameters (array or single object).
function H.params(result)
  local map = {}
  local rp = result.ResultParameters and result.ResultParameters.ResultParameter
  if rp and rp.Key then
    rp = { rp }
  end
  for _, item in ipairs(rp or {}) do
    map[item.Key] = item.Value
  end
  return map
end

--- Received requests whose path is `path`.
function H.at(list, path)
  local out = {}
  for _, r in ipairs(list) do
    if r.path == path then
      out[#out + 1] = r
    end
  end
  return out
end

--- Stats once every callback delivery has finished (delivered or given up),
-- polling for at most `timeout` seconds.
function H.settled(s, timeout)
  local socket = require("socket")
  local deadline = socket.gettime() + (timeout or 3)
  while true do
    local st = s:stats()
    -- the count covers the records the history no longer keeps
    local busy = (st.callbacksPending or 0) > 0
    for _, c in ipairs(st.callbacks) do
      busy = busy or c.pending
    end
    if not busy or socket.gettime() > deadline then
      return st
    end
    socket.sleep(0.01)
  end
end

H.sim = sim
--- The usual life of a simulator spec file: one simulator and one callback
-- receiver for the whole file, reset before each test, with a fresh token.
-- Installs the busted hooks; returns the table they fill: s, receiver,
-- credential (the configured password, encrypted) and token.
function H.session(opts)
  local busted = require("busted")
  local ctx = sim.session(opts or { callbackDelay = 0.05 }, { reset = true, freshReceiver = true })
  busted.setup(function()
    ctx.credential = ctx.s:credential()
  end)
  busted.before_each(function()
    ctx.token = ctx.s:token()
  end)
  return ctx
end

return H
