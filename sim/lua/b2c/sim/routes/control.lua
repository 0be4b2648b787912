-- The control endpoints under /sim/ (loopback clients only): stats,
-- health, reset, token revocation, settings, and the actions on payouts,
-- callbacks and faults. The console (b2c.sim.console) sends its buttons
-- here too: each behaviour lives in one place.
local json = require("b2c.sim.json")
local faults = require("b2c.sim.faults")
local reply = require("b2c.sim.reply")
local settings = require("b2c.sim.settings")
local scenarios = require("b2c.sim.scenarios")
local tokens = require("b2c.sim.tokens")

local M = {}

M.PREFIX = "/sim/"

local function money_number(cents)
  return json.money(cents)
end

-- {second -> count} as a list of counts, one per second from the first
-- second with a request to the last (seconds without any count as 0).
local function per_second(by_second)
  local first, last
  for second in pairs(by_second) do
    if not first or second < first then first = second end
    if not last or second > last then last = second end
  end
  local counts = json.array()
  for second = first or 1, last or 0 do counts[#counts + 1] = by_second[second] or 0 end
  return counts
end

--- What /sim/stats shows.
function M.stats(gw)
  local payouts = json.array()
  for _, p in ipairs(gw.payouts) do
    payouts[#payouts + 1] = {
      api = p.api,
      ocid = p.ocid,
      conversationId = p.conversationId,
      commandId = p.commandId,
      partyA = p.partyA,
      partyB = p.partyB,
      amount = p.amount,
      state = p.state,
      resultCode = p.resultCode,
      resultDesc = p.resultDesc,
      receipt = p.receipt,
      transactionId = p.transactionId,
      scenario = p.scenario,
      credentialValid = p.credentialValid,
      charge = money_number(p.charge),
      remarks = p.remarks,
      occasion = p.occasion,
    }
  end
  local queries = json.array()
  for _, q in ipairs(gw.queries) do
    queries[#queries + 1] = {
      kind = q.kind, ocid = q.ocid, conversationId = q.conversationId,
      resultCode = q.resultCode, found = q.found, asked = q.asked,
      credentialValid = q.credentialValid,
    }
  end
  local cbs = json.array(gw.callbacks:history())
  local counts = gw.callbacks.counts
  return {
    tokensIssued = gw.tokensIssued,
    tokensValid = tokens.valid(gw),
    requests = gw.requests,
    sendsByOcid = gw.sendsByOcid,
    payouts = payouts,
    queries = queries,
    callbacks = cbs,
    -- exact counts; `callbacks` holds the newest callbackHistory of them
    callbacksTotal = counts.total,
    callbacksDelivered = counts.delivered,
    callbacksFailed = counts.failed,
    callbacksPending = counts.total - counts.delivered - counts.failed,
    callbacksTruncated = counts.truncated,
    lastHeaders = gw.lastHeaders or json.null,
    lastPaymentRequest = gw.lastPaymentRequest or json.null,
    paymentsPerSecond = per_second(gw.paymentsBySecond),
    balance = {
      utility = money_number(gw.utility),
      working = money_number(gw.working),
      chargesPaid = money_number(gw.charges),
    },
    credentialEngine = gw.checker:engine(),
    config = settings.public(gw.config),
    scenarios = scenarios.list(),
  }
end

-- The actions, POST /sim/<name> with a JSON object: each returns the
-- answer's fields or nil, status, message.
local ACTIONS = {}

local function payout_of(gw, t)
  local p = type(t.ocid) == "string" and gw.payoutByOcid[t.ocid]
  if not p then
    return nil, 404, "no payout with ocid " .. string.format("%q", tostring(t.ocid):sub(1, 80))
  end
  return p
end

-- {ocid}: the payout's result callback goes out now: the one waiting for
-- its delay, else (a scenario that sends none) a new one.
ACTIONS["deliver"] = function(gw, t)
  local p, status, message = payout_of(gw, t)
  if not p then return nil, status, message end
  local hurried, sent = 0, 0
  for _, record in ipairs(gw.callbacks:of_payout(p.ocid)) do
    if record.kind == "result" then
      if gw.callbacks:hurry(record) then
        hurried = hurried + 1
      else
        sent = sent + 1
      end
    end
  end
  if hurried > 0 then
    return { hurried = hurried }
  end
  if sent > 0 then
    return nil, 409, "the result of " .. p.ocid .. " is already sent (redeliver its callback to send it again)"
  end
  if not (p.notice and p.resultUrl) then
    return nil, 409, "payout " .. p.ocid .. " has no result callback to deliver"
  end
  local record = gw.callbacks:schedule(p.resultUrl, p.notice("result"), 0,
    { kind = "result", ocid = p.ocid, conversationId = p.conversationId, api = p.api })
  return { callback = record.id }
end

-- {ocid}: the queue-timeout notification goes to the payout's
-- QueueTimeOutURL now. A result still waiting stays scheduled: Daraja may
-- send one after a timeout, and a client must settle either way.
ACTIONS["queue-timeout"] = function(gw, t)
  local p, status, message = payout_of(gw, t)
  if not p then return nil, status, message end
  if not (p.notice and p.queueTimeOutUrl) then
    return nil, 409, "payout " .. p.ocid .. " has no QueueTimeOutURL to notify"
  end
  local record = gw.callbacks:schedule(p.queueTimeOutUrl, p.notice("timeout"), 0,
    { kind = "timeout", ocid = p.ocid, conversationId = p.conversationId, api = p.api })
  return { callback = record.id }
end

-- {id}: a callback sent again, now, with the same body to the same URL.
ACTIONS["redeliver"] = function(gw, t)
  local record = gw.callbacks:find(math.tointeger(tonumber(t.id or "")))
  if not record then
    return nil, 404, "no callback with id " .. tostring(t.id) .. " in the history kept"
  end
  local again = gw.callbacks:schedule(record.url, record.payload.text, 0, {
    kind = record.kind, ocid = record.ocid, conversationId = record.conversationId,
    api = record.api, redelivery = record.id,
  })
  return { callback = again.id }
end

-- {spec, count, path}: one more global fault, after those armed
-- ({spec = "drop", count = 1} drops the next request).
ACTIONS["fault"] = function(gw, t)
  local f, err = faults.global(t)
  if not f then return nil, 400, err end
  local list = gw.config.faults
  list[#list + 1] = f
  return { faults = json.array(faults.describe(list)) }
end

ACTIONS["revoke-tokens"] = function(gw)
  tokens.revoke(gw)
  return {}
end

--- True for a loopback peer (the control endpoints and the console answer
--- no other).
function M.is_loopback(ip)
  return ip == nil or ip:match("^127%.") ~= nil or ip == "::1" or ip:match("^::ffff:127%.") ~= nil
end

--- Answer a request under /sim/.
function M.handle(gw, req)
  if not M.is_loopback(req.peer) then
    return reply.sim_error(403, "control endpoints answer loopback clients only")
  end
  local path, method = req.path, req.method
  if path == "/sim/stats" and method == "GET" then
    return reply.json(200, M.stats(gw))
  elseif path == "/sim/health" and method == "GET" then
    return reply.json(200, { ok = true })
  elseif path == "/sim/reset" and method == "POST" then
    gw:reset()
    return reply.json(200, { ok = true })
  elseif method == "POST" and ACTIONS[path:sub(#M.PREFIX + 1)] then
    local t = json.decode(req.body ~= "" and req.body or "{}")
    if type(t) ~= "table" then
      return reply.sim_error(400, "the body must be a JSON object")
    end
    local answer, status, message = ACTIONS[path:sub(#M.PREFIX + 1)](gw, t)
    if not answer then
      return reply.sim_error(status, message)
    end
    answer.ok = true
    return reply.json(200, answer)
  elseif path == "/sim/config" and method == "POST" then
    local t = json.decode(req.body ~= "" and req.body or "{}")
    local ok, err = gw:configure(t)
    if not ok then
      return reply.sim_error(400, err)
    end
    return reply.json(200, { ok = true, config = settings.public(gw.config) })
  elseif path == "/sim/config" and method == "GET" then
    return reply.json(200, settings.public(gw.config))
  end
  return reply.sim_error(404, "no such control endpoint " .. method .. " " .. path)
end

return M
