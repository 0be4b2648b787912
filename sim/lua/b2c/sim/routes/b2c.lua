-- POST /mpesa/b2c/v3/paymentrequest (and the older v1 path, where Daraja
-- makes the OriginatorConversationID): a B2C payout, decided at once by
-- the scenario of the number and amount, with its result callback.
-- B2Pochi (routes/b2pochi.lua) is the same payout with its own checks.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local checks = require("b2c.sim.checks")
local results = require("b2c.sim.results")
local scenarios = require("b2c.sim.scenarios")
local wire = require("b2c.wire")
local op = require("b2c.operations.b2c")

local V3 = op.path
local V1 = "/mpesa/b2c/v1/paymentrequest"

-- The request rules are the SDK's (op.wire); on the v1 path Daraja makes
-- the OriginatorConversationID when none is given.
local RULES = op.wire
local V1_RULES = {}
for i, e in ipairs(RULES) do
  V1_RULES[i] = e
  if e[1] == "OriginatorConversationID" then
    V1_RULES[i] = { e[1], e[2], optional = true }
  end
end

-- First bad field of a B2C request, or nil.
local function check(body, v1)
  return wire.check(body, v1 and V1_RULES or RULES)
end

local function result_body(gw, p)
  local params
  if p.resultCode == 0 then
    params = json.object({ { "ResultParameter", json.array({
      results.kv("TransactionAmount", p.amount),
      results.kv("TransactionReceipt", p.receipt),
      results.kv("ReceiverPartyPublicName", p.partyB .. " - " .. p.customerName),
      results.kv("TransactionCompletedDateTime", util.eat_date("%d.%m.%Y %H:%M:%S", p.finalisedAt)),
      results.kv("B2CUtilityAccountAvailableFunds", json.money(p.after.utility)),
      results.kv("B2CWorkingAccountAvailableFunds", json.money(p.after.working)),
      results.kv("B2CRecipientIsRegisteredCustomer", "Y"),
      results.kv("B2CChargesPaidAccountAvailableFunds", json.money(p.after.charges)),
    }) } })
  end
  return json.encode(json.object({ { "Result", json.object({
    { "ResultType", 0 },
    { "ResultCode", p.resultCode },
    { "ResultDesc", p.resultDesc },
    { "OriginatorConversationID", p.ocid },
    { "ConversationID", p.conversationId },
    { "TransactionID", p.transactionId },
    { "ResultParameters", params },
    { "ReferenceData", json.object({ { "ReferenceItem",
      results.kv("QueueTimeoutURL", results.internal_url(gw, "b2cresults")) } }) },
  }) } }))
end

-- The queue-timeout notification: the request echoed, without the credential.
local function timeout_body(body)
  local echo = {}
  for k, v in pairs(body) do
    if k ~= "SecurityCredential" then
      echo[k] = v
    end
  end
  return json.encode(echo)
end

-- opts: check(body) -> the first bad field or nil; api (b2c, b2pochi);
-- v1 (Daraja makes the OCID when none is given).
local function payment(gw, body, opts)
  local v1 = opts.v1
  local bad_field_name = opts.check(body)
  if bad_field_name then
    return reply.bad_field(bad_field_name)
  end
  local cfg = gw.config
  local ocid = body.OriginatorConversationID
  if v1 and not ocid then
    ocid = util.request_id()
  end
  if gw.payoutByOcid[ocid] then
    return reply.gateway_error(500, "500.002.1001", "Duplicate OriginatorConversationID.")
  end

  local amount = checks.whole_amount(body.Amount)
  local partyB = checks.msisdn(body.PartyB)
  local scenario = scenarios.for_number(partyB)
  local now = os.time()
  local credentialValid = gw.checker:matches(body.SecurityCredential, cfg.initiatorPassword)
  local code
  if not credentialValid then
    code = 2001
  elseif scenario.code then
    code = scenario.code
  elseif amount < scenarios.MIN_AMOUNT then
    code = 2
  elseif amount > scenarios.MAX_AMOUNT then
    code = 3
  elseif amount * 100 > gw.utility then
    code = 1
  else
    code = 0
  end

  local p = {
    api = opts.api,
    ocid = ocid,
    conversationId = util.conversation_id(now),
    commandId = body.CommandID,
    partyA = checks.as_text(body.PartyA),
    partyB = partyB,
    amount = amount,
    remarks = checks.as_text(body.Remarks),
    occasion = checks.as_text(body.Occasion or body.Occassion),
    scenario = scenario.name,
    delivery = scenario.delivery or "result",
    credentialValid = credentialValid,
    resultCode = code,
    resultDesc = scenarios.DESC[code],
    initiatedAt = now,
    finalisedAt = now,
    customerName = scenarios.customer_name(partyB),
    resultUrl = body.ResultURL,
    queueTimeOutUrl = body.QueueTimeOutURL,
  }
  if code == 0 then
    p.state = "completed"
    p.charge = scenarios.charge_cents(amount)
    gw.utility = gw.utility - amount * 100
    gw.charges = gw.charges - p.charge
    gw:issue_receipt(p)
  else
    p.state = "failed"
    p.charge = 0
    p.transactionId = util.placeholder_receipt()
  end
  p.after = { utility = gw.utility, working = gw.working, charges = gw.charges }
  -- the body of either notification, for the control actions deliver and
  -- queue-timeout (routes/control.lua)
  p.notice = function(kind)
    return kind == "timeout" and timeout_body(body) or result_body(gw, p)
  end
  gw:record(p)

  local delay = cfg.callbackDelay
  local info = { ocid = ocid, conversationId = p.conversationId, api = opts.api }
  if p.delivery == "timeout" then
    info.kind = "timeout"
    gw.callbacks:schedule(p.queueTimeOutUrl, timeout_body(body), delay, info)
  elseif p.delivery == "twice" then
    local result = result_body(gw, p)
    gw.callbacks:schedule(p.resultUrl, result, delay, info)
    gw.callbacks:schedule(p.resultUrl, result, delay * 2 + 0.05, info)
  elseif p.delivery ~= "none" then
    gw.callbacks:schedule(p.resultUrl, result_body(gw, p), delay, info)
  end

  return reply.ack(ocid, p.conversationId, true)
end

return {
  paths = { V3, V1 },
  method = "POST",
  api = true,
  payment = true,
  handle = function(gw, req, body)
    local v1 = req.path == V1
    return payment(gw, body, { v1 = v1, api = "b2c", check = function(b) return check(b, v1) end })
  end,
  payout = payment, -- for routes/b2pochi.lua
}
