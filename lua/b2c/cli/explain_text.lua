-- The text form of what explain.body says about a body Daraja sent, as
-- `b2c parse` prints it (status and balance too, for the result they get).
local output = require("b2c.cli.output")

local clean = output.clean

local explain_text = {}

local VERDICT_TEXT = { paid = "paid", not_paid = "not paid (if this answers a payout)",
  reversed = "reversed (the customer was refunded)", not_reversed = "not reversed" }

function explain_text.write(out, info)
  local function row(label, value) output.row(out, label .. ":", value) end
  if info.form == "error" then
    row("kind", "Daraja error answer (synchronous" .. (info.httpStatus and ", HTTP " .. info.httpStatus or "")
      .. "; not a callback)")
    row("errorCode", string.format("%s (%s) %s", info.errorCode, info.class, info.errorMessage))
    row("advice", info.advice)
    row("requestId", info.requestId)
    return
  elseif info.form == "acknowledgement" then
    row("kind", "synchronous acknowledgement (Daraja's answer to the request; not a callback)")
    row("ResponseCode", info.responseCode .. (info.accepted and " (accepted for processing) "
      or " (not accepted) ") .. tostring(info.responseDescription or ""))
    row("advice", info.advice)
    row("OriginatorConversationID", info.originatorConversationId)
    row("ConversationID", info.conversationId)
    return
  elseif info.form == "queueTimeout" then
    row("kind", "queue timeout notification (QueueTimeOutURL)")
    row("OriginatorConversationID", info.originatorConversationId)
    row("ConversationID", info.conversationId)
    row("advice", info.advice)
    return
  end
  row("kind", info.title)
  row("ResultCode", string.format("%s (%s) %s", tostring(info.resultCode), info.class, info.resultDesc))
  if info.api == "status" then
    local v, facts = info.payout, {}
    if v.amount then facts[#facts + 1] = "KES " .. tostring(v.amount) end
    if v.receipt then facts[#facts + 1] = "receipt " .. v.receipt end
    if v.time then facts[#facts + 1] = v.time end
    if v.reason and info.verdict ~= "completed" then facts[#facts + 1] = v.reason end
    row("verdict", info.verdict .. (#facts > 0 and " (" .. table.concat(facts, ", ") .. ")" or ""))
    row("payout OCID", v.originatorConversationId)
  elseif info.verdict then
    row("verdict", VERDICT_TEXT[info.verdict])
  end
  row("advice", info.advice)
  row("OriginatorConversationID", info.originatorConversationId)
  row("ConversationID", info.conversationId)
  local txid = info.transactionId
  if txid and (not info.ok or txid:match("0000000$")) then txid = txid .. " (a placeholder, not a receipt)" end
  row("TransactionID", txid)
  if info.accounts then
    out:write("accounts:\n")
    for _, a in ipairs(info.accounts) do
      out:write(string.format("  %-34s %s %s\n", clean(a.name), clean(a.currency), clean(a.amount)))
    end
  elseif info.accountsError then
    row("accounts", "unreadable: " .. info.accountsError)
  end
  local function list(title, items)
    if #items == 0 then return end
    out:write(title .. ":\n")
    for _, p in ipairs(items) do
      out:write(string.format("  %-34s %s\n", clean(p.key), p.value == nil and "(no value)" or clean(p.value)))
    end
  end
  list("parameters", info.parameters)
  list("reference data", info.referenceData)
end

return explain_text
