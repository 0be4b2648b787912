-- POST /mpesa/transactionstatus/v1/query: the state of an earlier payout,
-- found by its OriginatorConversationID or receipt, in a result callback.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local checks = require("b2c.sim.checks")
local results = require("b2c.sim.results")
local query = require("b2c.sim.query")
local scenarios = require("b2c.sim.scenarios")
local op = require("b2c.operations.transaction_status")

local kv = results.kv

local NOT_FOUND_CODE = 2032
local NOT_FOUND_DESC = "The transaction receipt number does not exist."

local REASON_TYPES = {
  BusinessPayment = "Business Payment to Customer via API",
  SalaryPayment = "Salary Payment to Customer via API",
  PromotionPayment = "Promotion Payment to Customer via API",
}

local function status_parameters(p)
  local initiated = util.eat_date("%Y%m%d%H%M%S", p.initiatedAt)
  local finalised = util.eat_date("%Y%m%d%H%M%S", p.finalisedAt)
  local completed = p.state == "completed"
  local list = {
    kv("DebitPartyName", p.partyA .. " - b2c-sim Business"),
    kv("CreditPartyName", p.partyB .. " - " .. p.customerName),
    kv("OriginatorConversationID", p.ocid),
    kv("InitiatedTime", initiated),
    kv("DebitAccountType", "Utility Account"),
    kv("DebitPartyCharges", completed
      and string.format("Fee For B2C Payment|KES|%d.%02d", p.charge // 100, p.charge % 100) or nil),
    kv("TransactionReason", not completed and p.resultDesc or nil),
    kv("ReasonType", REASON_TYPES[p.commandId]),
    kv("TransactionStatus", completed and "Completed" or "Failed"),
    kv("FinalisedTime", finalised),
    kv("Amount", string.format("%d", p.amount)),
    kv("ConversationID", p.conversationId),
    kv("ReceiptNo", p.receipt),
  }
  if not completed then
    list[#list + 1] = kv("SimOriginalResultCode", p.resultCode)
  end
  return json.array(list)
end

local function transaction_status(gw, body)
  local bad = query.check(body, op)
  if bad then
    return reply.bad_field(bad)
  end
  local q = query.new(gw, "transactionstatus", body)
  local ocid = checks.nonempty(body.OriginalConversationID)
  local txid = checks.nonempty(checks.field(body, "TransactionID", "Transaction ID"))
  q.asked = { originalConversationId = ocid, transactionId = txid }
  local p = (ocid and gw.payoutByOcid[ocid]) or (txid and gw.payoutByReceipt[txid])
  local occasion = checks.as_text(body.Occasion)
  local reference = json.object({ { "Key", "Occasion" }, { "Value", occasion ~= "" and occasion or nil } })
  local result
  if not q.credentialValid then
    q.resultCode = 2001
    result = query.failure(q, 2001, scenarios.DESC[2001], reference)
  elseif not p then
    q.resultCode = NOT_FOUND_CODE
    result = query.failure(q, NOT_FOUND_CODE, NOT_FOUND_DESC, reference)
  else
    q.resultCode = 0
    q.found = p.ocid
    result = json.encode(json.object({ { "Result", json.object({
      { "ConversationID", q.conversationId },
      { "OriginatorConversationID", q.ocid },
      { "ReferenceData", json.object({ { "ReferenceItem", reference } }) },
      { "ResultCode", 0 },
      { "ResultDesc", scenarios.DESC[0] },
      { "ResultParameters", json.object({ { "ResultParameter", status_parameters(p) } }) },
      { "ResultType", 0 },
      { "TransactionID", p.receipt or p.transactionId },
    }) } }))
  end
  query.deliver(gw, q, body, result)
  return query.ack(q)
end

return {
  paths = { op.path },
  method = "POST",
  api = true,
  handle = function(gw, _, body)
    return transaction_status(gw, body)
  end,
}
