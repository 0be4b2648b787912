-- POST /mpesa/b2b/v1/paymentrequest: B2B payments (BusinessPayBill to a
-- pay bill, BusinessBuyGoods to a till) and the B2C Account Top Up
-- (BusinessPayToBulk), which share Daraja's path; the CommandID picks the
-- SDK's operation module whose request rules (op.wire) apply. Money leaves
-- the Working account; a top-up lands in the Utility account (the one
-- simulated shortcode plays the B2C shortcode being funded). Daraja makes
-- the OriginatorConversationID. The outcome is decided at once by the
-- receiving shortcode's scenario and the Working balance.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local checks = require("b2c.sim.checks")
local results = require("b2c.sim.results")
local scenarios = require("b2c.sim.scenarios")
local wire = require("b2c.wire")

local kv = results.kv

local OPS = {}
for _, name in ipairs({ "b2b", "b2c_top_up" }) do
  local op = require("b2c.operations." .. name)
  for _, e in ipairs(op.wire) do
    if e[1] == "CommandID" then
      for _, command in ipairs(e.values) do OPS[command] = op end
    end
  end
end

-- Daraja's B2B balance text: {Amount={CurrencyCode=KES, MinimumAmount=<cents>, BasicAmount=<KES>}}.
local function amount_map(cents)
  return string.format("{Amount={CurrencyCode=KES, MinimumAmount=%d, BasicAmount=%d.%02d}}",
    cents, cents // 100, cents % 100)
end

local function money_text(cents)
  return string.format("%d.%02d", cents // 100, cents % 100)
end

-- As Daraja's samples: every value a string on success; a failure carries
-- numbers and BOCompletedTime only.
local function result_body(gw, p)
  local reference = results.internal_url(gw, "b2bresults")
  if p.resultCode ~= 0 then
    return json.encode(json.object({ { "Result", json.object({
      { "ResultType", 0 },
      { "ResultCode", p.resultCode },
      { "ResultDesc", p.resultDesc },
      { "OriginatorConversationID", p.ocid },
      { "ConversationID", p.conversationId },
      { "TransactionID", p.transactionId },
      { "ResultParameters", json.object({ { "ResultParameter",
        kv("BOCompletedTime", math.tointeger(tonumber(util.eat_date("%Y%m%d%H%M%S", p.finalisedAt)))) } }) },
      { "ReferenceData", json.object({ { "ReferenceItem", kv("QueueTimeoutURL", reference) } }) },
    }) } }))
  end
  local working = p.after.working
  return json.encode(json.object({ { "Result", json.object({
    { "ResultType", "0" },
    { "ResultCode", "0" },
    { "ResultDesc", "The service request is processed successfully" },
    { "OriginatorConversationID", p.ocid },
    { "ConversationID", p.conversationId },
    { "TransactionID", p.receipt },
    { "ResultParameters", json.object({ { "ResultParameter", json.array({
      kv("DebitAccountBalance", amount_map(working)),
      kv("Amount", money_text(p.amount * 100)),
      kv("DebitPartyAffectedAccountBalance", string.format("Working Account|KES|%s|%s|0.00|0.00",
        money_text(working), money_text(working))),
      kv("TransCompletedTime", util.eat_date("%Y%m%d%H%M%S", p.finalisedAt)),
      kv("DebitPartyCharges", ""),
      kv("ReceiverPartyPublicName", p.partyB .. " - " .. p.customerName),
      kv("Currency", "KES"),
      kv("InitiatorAccountCurrentBalance", amount_map(working)),
    }) } }) },
    { "ReferenceData", json.object({ { "ReferenceItem", json.array({
      kv("BillReferenceNumber", p.accountReference or ""),
      kv("QueueTimeoutURL", reference),
    }) } }) },
  }) } }))
end

local function timeout_body(body, ocid)
  local echo = { OriginatorConversationID = ocid }
  for k, v in pairs(body) do
    if k ~= "SecurityCredential" then echo[k] = v end
  end
  return json.encode(echo)
end

local function b2b(gw, body)
  local op = OPS[checks.as_text(wire.value(body, { "CommandID", alias = "Command ID" }))]
  local bad = "CommandID"
  if op then
    bad = wire.check(body, op.wire)
  end
  if bad then
    return reply.bad_field(bad)
  end
  local now = os.time()
  local amount = checks.whole_amount(body.Amount)
  local partyB = checks.as_text(body.PartyB)
  local scenario = scenarios.for_shortcode(partyB)
  local credentialValid = gw.checker:matches(body.SecurityCredential, gw.config.initiatorPassword)
  local code
  if not credentialValid then
    code = 2001
  elseif scenario.code then
    code = scenario.code
  elseif amount * 100 > gw.working then
    code = 1
  else
    code = 0
  end
  local p = {
    api = op.namespace,
    ocid = util.request_id(),
    conversationId = util.conversation_id(now),
    commandId = checks.as_text(wire.value(body, { "CommandID", alias = "Command ID" })),
    partyA = checks.as_text(body.PartyA),
    partyB = partyB,
    amount = amount,
    remarks = checks.as_text(body.Remarks),
    accountReference = checks.as_text(body.AccountReference),
    scenario = scenario.name,
    delivery = scenario.delivery or "result",
    credentialValid = credentialValid,
    resultCode = code,
    resultDesc = scenarios.DESC[code],
    initiatedAt = now,
    finalisedAt = now,
    customerName = "b2c-sim Business",
    charge = 0,
    resultUrl = body.ResultURL,
    queueTimeOutUrl = body.QueueTimeOutURL,
  }
  if code == 0 then
    p.state = "completed"
    gw.working = gw.working - amount * 100
    if op.namespace == "b2cTopUp" then
      gw.utility = gw.utility + amount * 100
    end
    gw:issue_receipt(p)
  else
    p.state = "failed"
    p.transactionId = util.placeholder_receipt()
  end
  p.after = { utility = gw.utility, working = gw.working, charges = gw.charges }
  -- for the control actions deliver and queue-timeout (routes/control.lua)
  p.notice = function(kind)
    return kind == "timeout" and timeout_body(body, p.ocid) or result_body(gw, p)
  end
  gw:record(p)

  local info = { ocid = p.ocid, conversationId = p.conversationId, api = op.namespace }
  if p.delivery == "timeout" then
    info.kind = "timeout"
    gw.callbacks:schedule(p.queueTimeOutUrl, timeout_body(body, p.ocid), gw.config.callbackDelay, info)
  elseif p.delivery ~= "none" then
    gw.callbacks:schedule(p.resultUrl, result_body(gw, p), gw.config.callbackDelay, info)
  end
  return reply.ack(p.ocid, p.conversationId)
end

return {
  paths = { "/mpesa/b2b/v1/paymentrequest" },
  method = "POST",
  api = true,
  payment = true,
  handle = function(gw, _, body)
    return b2b(gw, body)
  end,
}
