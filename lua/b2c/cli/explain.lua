-- What a body Daraja sent is, as plain data: a result callback (which API
-- it answers, its verdict), a queue timeout notification, or a synchronous
-- answer (an acknowledgement, an error body). `b2c parse`, status and
-- balance print it as text (explain_text.lua) or as their --json.
local b2c = require("b2c")
local core = require("b2c.core")
local json = require("b2c.json")

local explain = {}

-- Results that name their API by a parameter only they carry: the
-- operation modules' declared result parameters (op.result). B2Pochi's are
-- B2C's, and B2B's, Buy Goods' and Top Up's are one another's, so those
-- are named together.
local BY_PARAMETER = {
  { "OriginalTransactionID", "reversal", require("b2c.operations.reversal").result.title },
  { "DebitPartyAffectedAccountBalance", "payment", require("b2c.operations.b2b").result.title },
  { "InitiatorAccountCurrentBalance", "payment", require("b2c.operations.b2b").result.title },
}

-- Which API a result answers, from its parameters.
local function result_kind(r, keys)
  if keys.AccountBalance then return "balance", "Account Balance result" end
  if keys.TransactionStatus or keys.ReceiptNo or keys.FinalisedTime then
    return "status", "Transaction Status result"
  end
  for _, known in ipairs(BY_PARAMETER) do
    if keys[known[1]] then return known[2], known[3] end
  end
  if keys.TransactionReceipt or keys.TransactionAmount then
    return "payment", "B2C payment result (or B2Pochi: their results look alike)"
  end
  local code = tostring(r.ResultCode)
  if code == "2032" or code == "2033" then return "status", "Transaction Status result" end
  if code:match("^R00000%d$") then return "reversal", "Reversal result" end
  return "result", "Daraja result"
end

-- Fields of a request: a body that echoes them with its OCID is the queue
-- timeout notification (the original request, per Daraja's G2 spec, which
-- spells the id originatorConversationID).
local REQUEST_FIELDS = { "CommandID", "InitiatorName", "Initiator", "Amount", "PartyA", "PartyB",
  "Remarks", "QueueTimeOutURL", "ResultURL", "IdentifierType" }

-- What a decoded body is: "result" (a Result object), "flat" (result
-- fields without the wrapper, as a real 2020 Account Balance failure
-- came), "error" (a gateway error), "ack" (a synchronous
-- acknowledgement), "timeout", or nil.
local function shape(doc)
  if type(doc) ~= "table" then return nil end
  if doc.Result ~= nil then return "result" end
  if doc.errorCode ~= nil then return "error" end
  if doc.ResultCode ~= nil then return "flat" end
  if doc.ResponseCode ~= nil then return "ack" end
  if doc.OriginatorConversationID ~= nil or doc.originatorConversationID ~= nil then
    for _, name in ipairs(REQUEST_FIELDS) do
      if doc[name] ~= nil then return "timeout" end
    end
  end
  return nil
end

-- A synchronous answer: an error body or an acknowledgement.
local function explain_answer(form, doc)
  if form == "error" then
    local code = tostring(doc.errorCode)
    local message = type(doc.errorMessage) == "string" and doc.errorMessage or ""
    local class, advice = b2c.describe({ kind = "api", code = code, message = message })
    return { form = "error", errorCode = code, errorMessage = message, class = class, advice = advice,
      httpStatus = tonumber(code:match("^(%d%d%d)%.")), requestId = doc.requestId }
  end
  local code = tostring(doc.ResponseCode)
  return { form = "acknowledgement", responseCode = code, accepted = code == "0",
    responseDescription = doc.ResponseDescription,
    advice = code == "0" and "an acknowledgement only: the outcome comes later by callback to the "
      .. "ResultURL; keep the OriginatorConversationID to reconcile"
      or "Daraja did not take the request; reconcile by the OriginatorConversationID before sending it again",
    originatorConversationId = doc.OriginatorConversationID, conversationId = doc.ConversationID }
end

local function pairs_of(list)
  local out = {}
  for i, p in ipairs(list) do out[i] = { key = p.Key, value = p.Value } end
  return out
end

local TITLES = { status = "Transaction Status result", balance = "Account Balance result" }

-- What a body Daraja sent is, as plain data (the --json output of parse,
-- status and balance; the text output is drawn from it): nil, reason when
-- it is not a callback or an answer. Strings are as received; the printers
-- escape them. `api` ("status", "balance"), when the caller knows which
-- query a result answers: a failed query's result does not say.
function explain.body(data, api)
  local doc = core.json_valid(data) and json.decode(data)
  local form = shape(doc)
  if form == "error" or form == "ack" then return explain_answer(form, doc) end
  -- the flat result goes through the same strict reading, wrapped as text
  local r, perr = b2c.parseDarajaResult(form == "flat" and ('{"Result":' .. data .. "}") or data)
  if not r then
    local note = form == "timeout" and b2c.parseQueueTimeout(data)
    if not note then
      return nil, form == nil and doc and "not a Daraja callback or answer (no Result, ResultCode, "
        .. "ResponseCode or errorCode, and not an echoed request)" or perr.message
    end
    return { form = "queueTimeout", originatorConversationId = note.OriginatorConversationID,
      conversationId = note.ConversationID,
      advice = "not a failure: the payout may still complete; query Transaction Status by "
        .. "this OriginatorConversationID before any resend" }
  end
  local keys = {}
  for _, p in ipairs(r.parameters) do keys[(p.Key:gsub("%s+", ""))] = true end
  local title
  if TITLES[api] then title = TITLES[api] else api, title = result_kind(r, keys) end
  local class, advice = b2c.describe(r)
  local entry = b2c.resultCodes[r.ResultCode] or b2c.resultCodes[tonumber(r.ResultCode) or false]
  local info = { form = "result", api = api, title = title, ok = r.ok, resultCode = r.ResultCode,
    resultDesc = r.ResultDesc or (entry and entry.text) or "", class = class, advice = advice,
    originatorConversationId = r.OriginatorConversationID, conversationId = r.ConversationID,
    transactionId = r.TransactionID, parameters = pairs_of(r.parameters),
    referenceData = pairs_of(r.referenceData) }
  info.receipt = r.ok and r.TransactionID and not r.TransactionID:match("0000000$") and r.TransactionID or nil
  if api == "status" then
    local v = b2c.statusVerdict(r)
    info.verdict, info.advice = v.verdict, v.advice
    info.payout = { originatorConversationId = v.originatorConversationId, conversationId = v.conversationId,
      amount = v.amount, receipt = v.receipt, time = v.time, initiatedTime = v.initiatedTime,
      status = v.status, reason = v.reason, debitParty = v.debitParty, creditParty = v.creditParty,
      charges = v.charges, queryFailed = v.queryFailed or false }
  elseif api == "reversal" then
    info.verdict = r.ok and "reversed" or "not_reversed"
  elseif api == "payment" or (api == "result" and not r.ok) then
    info.verdict = r.ok and "paid" or "not_paid"
  elseif api == "balance" and r.ok then
    local accounts, berr = b2c.parseAccountBalance(r)
    if accounts then
      info.advice = "the balances when M-Pesa answered, in shillings (a payout needs them in the account it draws on)"
      info.accounts = {}
      for i, a in ipairs(accounts) do info.accounts[i] = { name = a.name, currency = a.currency, amount = a.amount } end
    else
      info.accountsError = berr.message
    end
  end
  return info
end

return explain
