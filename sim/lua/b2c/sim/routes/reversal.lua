-- POST /mpesa/reversal/v1/request: the reversal of a payment a customer
-- made INTO the shortcode (C2B), refunded from its Utility account. The
-- request rules are the SDK's operation module's (op.wire). The simulator
-- has no C2B payments, so it decides by the receipt:
--   already reversed here                    R000001
--   a payout the simulator made (B2C, B2Pochi, B2B): Daraja does not
--   reverse those through the API            R000002
--   a failure placeholder (ends in 0000000)  R000002
--   any other receipt: taken as a C2B payment and reversed (1 when the
--   Utility balance is short, 2001 on a wrong credential).
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local checks = require("b2c.sim.checks")
local results = require("b2c.sim.results")
local scenarios = require("b2c.sim.scenarios")
local wire = require("b2c.wire")
local op = require("b2c.operations.reversal")

local kv = results.kv

local function result_body(gw, p)
  local reference = json.object({ { "ReferenceItem",
    kv("QueueTimeoutURL", results.internal_url(gw, "reversalresults")) } })
  local params
  if p.resultCode == 0 then
    local utility = p.after.utility
    params = json.object({ { "ResultParameter", json.array({
      kv("DebitAccountBalance", string.format("Utility Account|KES|%s|%s|0.00|0.00",
        json.encode(json.money(utility)), json.encode(json.money(utility)))),
      kv("Amount", json.money(p.amount * 100)),
      kv("TransCompletedTime", math.tointeger(tonumber(util.eat_date("%Y%m%d%H%M%S", p.finalisedAt)))),
      kv("OriginalTransactionID", p.original),
      kv("Charge", json.money(0)),
      kv("CreditPartyPublicName", "254708374149 - " .. scenarios.customer_name("254708374149")),
      kv("DebitPartyPublicName", p.partyA .. " - b2c-sim Business"),
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
    { "ReferenceData", reference },
  }) } }))
end

local function reversal(gw, body)
  local bad = wire.check(body, op.wire)
  if bad then
    return reply.bad_field(bad)
  end
  local now = os.time()
  local original = body.TransactionID
  local amount = checks.whole_amount(body.Amount)
  local credentialValid = gw.checker:matches(body.SecurityCredential, gw.config.initiatorPassword)
  local code
  if not credentialValid then
    code = 2001
  elseif gw.reversalByReceipt[original] then
    code = "R000001"
  elseif gw.payoutByReceipt[original] or original:match("0000000$") then
    code = "R000002"
  elseif amount * 100 > gw.utility then
    code = 1
  else
    code = 0
  end
  local p = {
    api = "reversal",
    ocid = util.request_id(),
    conversationId = util.conversation_id(now),
    commandId = "TransactionReversal",
    partyA = checks.as_text(body.ReceiverParty),
    partyB = "254708374149",
    customerName = scenarios.customer_name("254708374149"),
    original = original,
    amount = amount,
    remarks = checks.as_text(body.Remarks),
    scenario = type(code) == "string" and code or (code == 0 and "success" or "failure"),
    credentialValid = credentialValid,
    resultCode = code,
    resultDesc = scenarios.REVERSAL_DESC[code] or scenarios.DESC[code],
    initiatedAt = now,
    finalisedAt = now,
    charge = 0,
  }
  if code == 0 then
    p.state = "completed"
    gw.utility = gw.utility - amount * 100
    gw:issue_receipt(p)
    gw.reversalByReceipt[original] = p
  else
    p.state = "failed"
    p.transactionId = util.placeholder_receipt()
  end
  p.after = { utility = gw.utility }
  gw:record(p)
  gw.callbacks:schedule(body.ResultURL, result_body(gw, p), gw.config.callbackDelay,
    { ocid = p.ocid, conversationId = p.conversationId, api = "reversal" })
  return reply.ack(p.ocid, p.conversationId)
end

return {
  paths = { op.path },
  method = "POST",
  api = true,
  payment = true,
  handle = function(gw, _, body)
    return reversal(gw, body)
  end,
}
