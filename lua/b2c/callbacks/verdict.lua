-- Reading the answers of the reconciliation queries:
--   b2c.statusVerdict(result)       a Transaction Status result -> a plain verdict
--   b2c.parseAccountBalance(result) an Account Balance result -> accounts
-- Neither raises on bad input: nil, err (kind "callback").
local result = require("b2c.callbacks.result")
local errors = require("b2c.errors")
local codes = require("b2c.callbacks.codes")
local as_integer = require("b2c.fields").as_integer

local reconcile = {}

-- Codes compared exactly as sent: "02032" or "2032 " is not 2032.
local NOT_FOUND = { [2032] = true, [2033] = true, ["2032"] = true, ["2033"] = true }
local FAILED_STATES = {
  failed = true, cancelled = true, canceled = true, declined = true, reversed = true, expired = true,
}

-- A parsed result from a parsed result, a decoded callback or JSON text.
-- A table that looks parsed is read again from its raw document: its
-- other fields may have been changed or made up, and reading them must not
-- raise (rawget: no metamethod runs).
local function parsed(x)
  if type(x) == "table" then
    local raw = rawget(x, "raw")
    if raw ~= nil then return result.parse(raw) end
  end
  return result.parse(x)
end

-- Old status results spell keys with spaces ("Conversation ID").
local function normal_key(k)
  return (k:gsub("%s+", ""))
end

-- { key = { values in order } } with normalised keys; items without a
-- value (or with an empty one) are left out.
local function collect(parameters)
  local all = {}
  for _, item in ipairs(parameters) do
    local v = item.Value
    if v ~= nil and v ~= "" then
      local k = normal_key(item.Key)
      all[k] = all[k] or {}
      table.insert(all[k], v)
    end
  end
  return all
end

local function first(all, k)
  return all[k] and all[k][1] or nil
end

local function number(v)
  if type(v) == "string" then v = tonumber((v:gsub(",", ""))) end
  if type(v) ~= "number" or v ~= v then return nil end
  return as_integer(v)
end

-- "20180223054112" (or the same digits as a number) -> "2018-02-23 05:41:12".
local function timestamp(v)
  if type(v) == "number" then v = string.format("%.0f", v) end
  if type(v) ~= "string" then return nil end
  local y, mo, d, h, mi, s = v:match("^(%d%d%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)$")
  if y then return string.format("%s-%s-%s %s:%s:%s", y, mo, d, h, mi, s) end
  d, mo, y, h, mi, s = v:match("^(%d%d)%.(%d%d)%.(%d%d%d%d) (%d%d):(%d%d):(%d%d)$")
  if d then return string.format("%s-%s-%s %s:%s:%s", y, mo, d, h, mi, s) end
  return v
end

local function text(v)
  if type(v) == "number" then return tostring(as_integer(v)) end
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

-- Ids and receipts only as strings: a number has no one text to match.
local function id_text(v)
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

local ADVICE = {
  completed = "paid: mark it paid with the receipt; never pay it again",
  failed = "not paid: it is safe to pay again with a new OriginatorConversationID",
  not_found = "M-Pesa has no such payout: it is safe to pay again with a new OriginatorConversationID",
  pending = "not final yet: do not pay again; query the status again later",
}

-- b2c.statusVerdict(x) -> verdict | nil, err
-- x: a parsed Transaction Status result, a decoded callback or its JSON text.
function reconcile.status_verdict(x)
  local r, err = parsed(x)
  if not r then return nil, err end
  local all = collect(r.parameters)
  local code = r.ResultCode
  local v = {
    resultCode = r.ResultCode,
    resultDesc = r.ResultDesc,
    queryConversationId = r.ConversationID, -- the query's, as in its ack
    result = r,
  }
  if r.ok then
    local status = text(first(all, "TransactionStatus"))
    v.status = status
    local s = status and status:lower() or ""
    if s == "completed" then
      v.verdict = "completed"
    elseif FAILED_STATES[s] then
      v.verdict = "failed"
    elseif status == nil and first(all, "TransactionReceipt") ~= nil then
      -- a payout's own success callback handed in by mistake: it is paid
      v.verdict = "completed"
    else
      v.verdict = "pending"
    end
    v.advice = ADVICE[v.verdict]
  elseif NOT_FOUND[code] then
    v.verdict = "not_found"
    v.advice = ADVICE.not_found
  else
    -- The query itself failed (wrong credential, busy...): nothing is known
    -- about the payout, so it must not be paid again yet.
    v.verdict = "pending"
    v.queryFailed = true
    local _, advice = codes.describe(r.ResultCode)
    v.advice = "the status query failed (ResultCode " .. tostring(r.ResultCode) .. ", "
      .. tostring(r.ResultDesc) .. "): " .. advice .. "; do not pay again until a query answers"
  end

  v.originatorConversationId = id_text(first(all, "OriginatorConversationID"))
  v.conversationId = id_text(first(all, "ConversationID"))
  v.amount = number(first(all, "Amount") or first(all, "TransactionAmount"))
  v.receipt = id_text(first(all, "ReceiptNo") or first(all, "TransactionReceipt"))
  if not v.receipt and v.verdict == "completed" and r.TransactionID
    and not r.TransactionID:match("0000000$") then
    v.receipt = r.TransactionID -- a placeholder such as MBN0000000 is not a receipt
  end
  v.time = timestamp(first(all, "FinalisedTime") or first(all, "TransactionCompletedDateTime"))
  v.initiatedTime = timestamp(first(all, "InitiatedTime"))
  v.reason = text(first(all, "TransactionReason"))
  if v.verdict ~= "completed" and not v.reason and not r.ok then v.reason = r.ResultDesc end
  -- DebitPartyName may appear twice: the business, then (in some results)
  -- the customer, where CreditPartyName belongs.
  local debit = all.DebitPartyName or {}
  v.debitParty = text(debit[1])
  v.creditParty = text(first(all, "CreditPartyName") or first(all, "ReceiverPartyPublicName"))
  if not v.creditParty and debit[2] ~= nil and debit[2] ~= debit[1] then
    v.creditParty = text(debit[2])
  end
  local charges = first(all, "DebitPartyCharges")
  if type(charges) == "string" then
    v.charges = number(charges:match("|([^|]*)$"))
  elseif type(charges) == "number" then
    v.charges = as_integer(charges)
  end
  return v
end

local function balance_error(message, fields)
  return errors.new("callback", message, fields)
end

-- "Name|Currency|Amount|...&Name|..." -> accounts
local function parse_balance_text(s)
  local accounts = {}
  local n = 0
  for record in (s .. "&"):gmatch("([^&]*)&") do
    if record:find("%S") then
      n = n + 1
      local fields = {}
      for f in (record .. "|"):gmatch("([^|]*)|") do fields[#fields + 1] = f:match("^%s*(.-)%s*$") end
      local amount = number(fields[3])
      if #fields < 3 or fields[1] == "" or not amount then
        return nil, balance_error(string.format("AccountBalance record %d is not "
          .. "Name|Currency|Amount|...: %q", n, record:sub(1, 80)))
      end
      local account = { name = fields[1], currency = fields[2], amount = amount, amounts = {} }
      for i = 3, #fields do account.amounts[i - 2] = number(fields[i]) or fields[i] end
      accounts[n] = account
      if accounts[account.name] == nil then accounts[account.name] = account end
    end
  end
  if n == 0 then return nil, balance_error("AccountBalance holds no account") end
  return accounts
end

-- b2c.parseAccountBalance(x) -> accounts | nil, err
-- x: a parsed Account Balance result, a decoded callback, its JSON text, or
-- the AccountBalance text itself.
function reconcile.parse_account_balance(x)
  if type(x) == "string" and not x:find("^%s*{") then return parse_balance_text(x) end
  local r, err = parsed(x)
  if not r then return nil, err end
  if not r.ok then
    return nil, balance_error(string.format("the balance query failed: ResultCode %s (%s)",
      tostring(r.ResultCode), tostring(r.ResultDesc)), { code = tostring(r.ResultCode) })
  end
  local all = collect(r.parameters)
  local value = first(all, "AccountBalance")
  if type(value) ~= "string" then
    return nil, balance_error("the result has no AccountBalance parameter")
  end
  return parse_balance_text(value)
end

return reconcile
