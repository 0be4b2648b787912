-- The control endpoints under /sim/ (loopback clients only): stats,
-- health, reset, token revocation and settings.
local json = require("b2c.sim.json")
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

local function is_loopback(ip)
  return ip == nil or ip:match("^127%.") ~= nil or ip == "::1" or ip:match("^::ffff:127%.") ~= nil
end

--- Answer a request under /sim/.
function M.handle(gw, req)
  if not is_loopback(req.peer) then
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
  elseif path == "/sim/revoke-tokens" and method == "POST" then
    tokens.revoke(gw)
    return reply.json(200, { ok = true })
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
