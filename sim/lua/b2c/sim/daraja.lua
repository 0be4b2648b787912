-- Routes of the simulated Daraja gateway, its checks and its state.
local socket = require("socket")
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local faults = require("b2c.sim.faults")
local scenarios = require("b2c.sim.scenarios")
local callbacks = require("b2c.sim.callbacks")
local http = require("b2c.sim.http")

local M = {}

local B2C_V3 = "/mpesa/b2c/v3/paymentrequest"
local B2C_V1 = "/mpesa/b2c/v1/paymentrequest"
local TX_STATUS = "/mpesa/transactionstatus/v1/query"
local BALANCE = "/mpesa/accountbalance/v1/query"
local OAUTH = "/oauth/v1/generate"

M.PATHS = { B2C_V3 = B2C_V3, B2C_V1 = B2C_V1, TX_STATUS = TX_STATUS, BALANCE = BALANCE, OAUTH = OAUTH }

M.FAULT_HEADER = "x-b2c-sim-fault"

local ACCEPTED = "Accept the service request successfully."

local COMMANDS = { BusinessPayment = true, SalaryPayment = true, PromotionPayment = true }
local REASON_TYPES = {
  BusinessPayment = "Business Payment to Customer via API",
  SalaryPayment = "Salary Payment to Customer via API",
  PromotionPayment = "Promotion Payment to Customer via API",
}

M.NOT_FOUND_CODE = 2032
M.NOT_FOUND_DESC = "The transaction receipt number does not exist."

-- Default settings (camelCase, as in /sim/config).
M.DEFAULTS = {
  consumerKey = "sim-consumer-key",
  consumerSecret = "sim-consumer-secret",
  initiatorPassword = "Safaricom999!*!",
  tokenTtl = 3599,
  expiresInNumber = false,
  invalidTokenStyle = "404",
  rejectAllTokens = false,  -- answer every Bearer token as invalid
  callbackDelay = 0.2,
  callbackAttempts = 3,
  callbackBackoff = { 0.2, 0.5 },
  callbackTimeout = 5,
  callbackHistory = 5000,   -- callback records /sim/stats keeps (newest)
  balance = 1000000,        -- utility account, KES
  workingBalance = 500000,  -- working account, KES
}

local function copy(v)
  if type(v) ~= "table" then
    return v
  end
  local t = {}
  for k, x in pairs(v) do
    t[k] = copy(x)
  end
  return setmetatable(t, getmetatable(v))
end

---------------------------------------------------------------------------
-- Responses
---------------------------------------------------------------------------

local function json_response(status, body)
  return {
    status = status,
    headers = { { "Content-Type", "application/json" } },
    body = type(body) == "string" and body or json.encode(body),
  }
end

local function gateway_error(status, code, message)
  return json_response(status, json.object({
    { "requestId", util.request_id() },
    { "errorCode", code },
    { "errorMessage", message },
  }))
end

local function bad_field(field)
  return gateway_error(400, "400.002.02", "Bad Request - Invalid " .. field)
end

local function sim_error(status, message)
  return json_response(status, json.object({
    { "errorCode", string.format("%d.000.00", status) },
    { "errorMessage", "b2c-sim: " .. message },
  }))
end

local HTML_403 = [[<!DOCTYPE html>
<html><head><title>403 Forbidden</title></head>
<body><h1>Access Denied</h1>
<p>You don't have permission to access this resource on this server.</p>
<p>Reference: b2c-sim injected fault</p></body></html>
]]

local function fault_response(action)
  if action == "spike" then
    return gateway_error(500, "500.003.02", "Error Occurred: Spike Arrest Violation")
  elseif action == "quota" then
    return gateway_error(500, "500.003.03", "Quota Violation")
  elseif action == "internal" then
    return gateway_error(500, "500.001.1001", "Internal Server Error")
  elseif action == "html403" then
    return { status = 403, headers = { { "Content-Type", "text/html; charset=utf-8" } }, body = HTML_403 }
  end
  return nil
end

---------------------------------------------------------------------------
-- Field checks
---------------------------------------------------------------------------

-- Text of a string, or of a whole number (JSON numbers arrive as floats).
local function as_text(v)
  if type(v) == "string" then
    return v
  end
  if type(v) == "number" then
    local i = math.tointeger(v)
    if i then
      return string.format("%d", i)
    end
  end
  return nil
end

local function text_len(s)
  return utf8.len(s) or #s
end

local function is_name(v, max)
  return type(v) == "string" and #v >= 1 and text_len(v) <= max and not v:find("%c")
end

local function whole_amount(v)
  local n
  if type(v) == "number" then
    n = math.tointeger(v)
  elseif type(v) == "string" and v:match("^%d+$") and #v <= 15 then
    n = math.tointeger(tonumber(v))
  end
  if n and n > 0 then
    return n
  end
  return nil
end

-- Daraja publishes no length for a shortcode (sandbox ones have 6 digits):
-- 5-10 digits, the rule b2c.new applies to shortCode.
local function is_shortcode(v)
  local s = as_text(v)
  return s ~= nil and s:match("^%d+$") ~= nil and #s >= 5 and #s <= 10
end

local function msisdn(v)
  local s = as_text(v)
  if s and (s:match("^2547%d%d%d%d%d%d%d%d$") or s:match("^2541%d%d%d%d%d%d%d%d$")) then
    return s
  end
  return nil
end

local function is_remarks(v)
  local s = as_text(v)
  return s ~= nil and text_len(s) >= 2 and text_len(s) <= 100
end

local function is_url(v)
  return type(v) == "string" and #v <= 1024 and http.parse_url(v) ~= nil
end

local function is_occasion(v)
  if v == nil or v == json.null then
    return true
  end
  local s = as_text(v)
  return s ~= nil and text_len(s) <= 100
end

local function is_identifier_type(v)
  local s = as_text(v)
  return s == "1" or s == "2" or s == "4"
end

local function is_credential(v)
  return util.is_base64(v) and #v <= 4096
end

local function initiator(v)
  return is_name(v, 100)
end

-- The first field of body whose rule fails, for rules given as
-- { field, rule, field, rule, ... }; nil when every one holds.
local function first_bad(body, rules)
  for i = 1, #rules, 2 do
    if not rules[i + 1](body[rules[i]]) then
      return rules[i]
    end
  end
  return nil
end

-- The fields both request kinds end with.
local CALLBACK_RULES = {
  "Remarks", is_remarks, "QueueTimeOutURL", is_url, "ResultURL", is_url, "Occasion", is_occasion,
}

local B2C_RULES = {
  "InitiatorName", initiator, "SecurityCredential", is_credential,
  "CommandID", function(v) return COMMANDS[v] ~= nil end, "Amount", whole_amount,
  "PartyA", is_shortcode, "PartyB", msisdn,
}

-- First bad field of a B2C request, or nil.
local function check_b2c(body, v1)
  local ocid = body.OriginatorConversationID
  if not (v1 and ocid == nil) and not is_name(ocid, 128) then
    return "OriginatorConversationID"
  end
  return first_bad(body, B2C_RULES) or first_bad(body, CALLBACK_RULES)
    or (not is_occasion(body.Occassion) and "Occassion") or nil
end

-- A field that has a spelling with a space in Daraja's own samples.
local function field(body, name, spaced)
  local v = body[name]
  if v == nil then
    v = body[spaced]
  end
  return v
end

local function nonempty(v)
  local s = as_text(v)
  if s and s ~= "" then
    return s
  end
  return nil
end

local QUERY_RULES = {
  "PartyA", is_shortcode, "IdentifierType", is_identifier_type,
}

local function check_query(body, command)
  local bad = first_bad(body, { "Initiator", initiator, "SecurityCredential", is_credential })
  if bad then
    return bad
  end
  if field(body, "CommandID", "Command ID") ~= command then
    return "CommandID"
  end
  if command == "TransactionStatusQuery" then
    local txid = field(body, "TransactionID", "Transaction ID")
    local ocid = body.OriginalConversationID
    if txid ~= nil and txid ~= json.null and not as_text(txid) then
      return "TransactionID"
    end
    if ocid ~= nil and ocid ~= json.null and not as_text(ocid) then
      return "OriginalConversationID"
    end
    if not nonempty(txid) and not nonempty(ocid) then
      return "TransactionID"
    end
  end
  return first_bad(body, QUERY_RULES) or first_bad(body, CALLBACK_RULES)
end

---------------------------------------------------------------------------
-- The simulator
---------------------------------------------------------------------------

local Sim = {}
Sim.__index = Sim

--- Create the gateway. opts: loop, settings (see DEFAULTS; `faults` a list
-- of parsed global faults), checker (credential checker), base_url, log.
function M.new(opts)
  local self = setmetatable({
    loop = opts.loop,
    checker = opts.checker,
    base_url = opts.base_url or "http://127.0.0.1",
    log = opts.log or function() end,
  }, Sim)
  local initial = {}
  for k, v in pairs(M.DEFAULTS) do
    initial[k] = copy(v)
  end
  for k, v in pairs(opts.settings or {}) do
    initial[k] = copy(v)
  end
  initial.faults = initial.faults or {}
  self.initial = initial
  self.callbacks = callbacks.new(self.loop, function() return self.config end, self.log)
  self:reset()
  return self
end

--- Back to the state at start: settings, tokens, balances, records.
function Sim:reset()
  self.config = copy(self.initial)
  self.tokens = {}        -- token -> {key=, expires=}
  self.latest = {}        -- consumer key -> newest token
  self.tokensIssued = 0
  self.requests = {}
  self.sendsByOcid = {}
  self.paymentsBySecond = {} -- whole epoch second -> payment requests received
  self.payouts = {}
  self.payoutByOcid = {}
  self.payoutByReceipt = {}
  self.queries = {}
  self.lastHeaders = nil
  self.lastPaymentRequest = nil
  self.utility = M.cents(self.config.balance)
  self.working = math.floor(self.config.workingBalance * 100 + 0.5)
  self.charges = 0
  self.callbacks:reset()
end

function Sim:revoke_tokens()
  self.tokens = {}
  self.latest = {}
end

local function ttl_text(ttl)
  local i = math.tointeger(ttl)
  if i then
    return string.format("%d", i)
  end
  return string.format("%.3f", ttl):gsub("0+$", "")
end

---------------------------------------------------------------------------
-- OAuth and tokens
---------------------------------------------------------------------------

function Sim:oauth(req)
  local cfg = self.config
  local auth = req.headers.authorization or ""
  local b64 = auth:match("^[Bb][Aa][Ss][Ii][Cc]%s+(%S+)%s*$")
  local pair = b64 and util.base64_decode(b64)
  if pair ~= cfg.consumerKey .. ":" .. cfg.consumerSecret then
    return gateway_error(400, "400.008.01", "Invalid Authentication passed")
  end
  if req.query.grant_type ~= "client_credentials" then
    return gateway_error(400, "400.008.02", "Invalid grant type passed")
  end
  local token = util.random_alnum(28)
  local old = self.latest[cfg.consumerKey]
  if old then
    self.tokens[old] = nil
  end
  self.tokens[token] = { key = cfg.consumerKey, expires = socket.gettime() + cfg.tokenTtl }
  self.latest[cfg.consumerKey] = token
  self.tokensIssued = self.tokensIssued + 1
  local expires_in
  if cfg.expiresInNumber then
    expires_in = json.raw(ttl_text(cfg.tokenTtl))
  else
    expires_in = ttl_text(cfg.tokenTtl)
  end
  return json_response(200, json.object({
    { "access_token", token },
    { "expires_in", expires_in },
  }))
end

-- nil when the request carries a valid token, else the error response.
function Sim:check_token(req)
  local auth = req.headers.authorization or ""
  -- the scheme exactly as Daraja documents it: `Bearer`, one space (no
  -- capture shows another spelling accepted; a client sending one is caught
  -- here, not in production)
  local token = auth:match("^Bearer (%S+)$")
  local entry = token and self.tokens[token]
  if entry and self.latest[entry.key] == token and entry.expires > socket.gettime()
      and not self.config.rejectAllTokens then
    return nil
  end
  if tostring(self.config.invalidTokenStyle) == "401" then
    return gateway_error(401, "401.002.01", "Error Occurred - Invalid Access Token - " .. (token or ""))
  end
  return gateway_error(404, "404.001.03", "Invalid Access Token")
end

-- Token, content type and payload checks shared by the POST APIs.
-- Returns body or nil, response.
function Sim:api_preamble(req, body)
  local bad = self:check_token(req)
  if bad then
    return nil, bad
  end
  local ct = (req.headers["content-type"] or ""):lower()
  if not ct:find("application/json", 1, true) then
    return nil, bad_field("InitiatorName")
  end
  if type(body) ~= "table" or req.body:match("^%s*%[") then
    return nil, gateway_error(400, "400.002.05", "Invalid Request Payload")
  end
  return body
end

---------------------------------------------------------------------------
-- Result bodies
---------------------------------------------------------------------------

local function kv(key, value)
  return json.object({ { "Key", key }, { "Value", value } })
end

function Sim:internal_url(kind)
  return self.base_url .. "/mpesa/" .. kind .. "/v1/submit"
end

function Sim:b2c_result(p)
  local params
  if p.resultCode == 0 then
    params = json.object({ { "ResultParameter", json.array({
      kv("TransactionAmount", p.amount),
      kv("TransactionReceipt", p.receipt),
      kv("ReceiverPartyPublicName", p.partyB .. " - " .. p.customerName),
      kv("TransactionCompletedDateTime", util.eat_date("%d.%m.%Y %H:%M:%S", p.finalisedAt)),
      kv("B2CUtilityAccountAvailableFunds", json.money(p.after.utility)),
      kv("B2CWorkingAccountAvailableFunds", json.money(p.after.working)),
      kv("B2CRecipientIsRegisteredCustomer", "Y"),
      kv("B2CChargesPaidAccountAvailableFunds", json.money(p.after.charges)),
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
      kv("QueueTimeoutURL", self:internal_url("b2cresults")) } }) },
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

---------------------------------------------------------------------------
-- B2C payment request
---------------------------------------------------------------------------

function Sim:payment(body, v1)
  local bad_field_name = check_b2c(body, v1)
  if bad_field_name then
    return bad_field(bad_field_name)
  end
  local cfg = self.config
  local ocid = body.OriginatorConversationID
  if v1 and not ocid then
    ocid = util.request_id()
  end
  if self.payoutByOcid[ocid] then
    return gateway_error(500, "500.002.1001", "Duplicate OriginatorConversationID.")
  end

  local amount = whole_amount(body.Amount)
  local partyB = msisdn(body.PartyB)
  local scenario = scenarios.for_number(partyB)
  local now = os.time()
  local credentialValid = self.checker:matches(body.SecurityCredential, cfg.initiatorPassword)
  local code
  if not credentialValid then
    code = 2001
  elseif scenario.code then
    code = scenario.code
  elseif amount < scenarios.MIN_AMOUNT then
    code = 2
  elseif amount > scenarios.MAX_AMOUNT then
    code = 3
  elseif amount * 100 > self.utility then
    code = 1
  else
    code = 0
  end

  local p = {
    ocid = ocid,
    conversationId = util.conversation_id(now),
    commandId = body.CommandID,
    partyA = as_text(body.PartyA),
    partyB = partyB,
    amount = amount,
    remarks = as_text(body.Remarks),
    occasion = as_text(body.Occasion or body.Occassion),
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
    self.utility = self.utility - amount * 100
    self.charges = self.charges - p.charge
    p.receipt = util.receipt()
    while self.payoutByReceipt[p.receipt] do
      p.receipt = util.receipt()
    end
    p.transactionId = p.receipt
    self.payoutByReceipt[p.receipt] = p
  else
    p.state = "failed"
    p.charge = 0
    p.transactionId = util.placeholder_receipt()
  end
  p.after = { utility = self.utility, working = self.working, charges = self.charges }
  self.payoutByOcid[ocid] = p
  self.payouts[#self.payouts + 1] = p

  local delay = cfg.callbackDelay
  local info = { ocid = ocid, conversationId = p.conversationId, api = "b2c" }
  if p.delivery == "timeout" then
    info.kind = "timeout"
    self.callbacks:schedule(p.queueTimeOutUrl, timeout_body(body), delay, info)
  elseif p.delivery == "twice" then
    local result = self:b2c_result(p)
    self.callbacks:schedule(p.resultUrl, result, delay, info)
    self.callbacks:schedule(p.resultUrl, result, delay * 2 + 0.05, info)
  elseif p.delivery ~= "none" then
    self.callbacks:schedule(p.resultUrl, self:b2c_result(p), delay, info)
  end

  return json_response(200, json.object({
    { "ConversationID", p.conversationId },
    { "OriginatorConversationID", ocid },
    { "ResponseCode", "0" },
    { "ResponseDescription", ACCEPTED },
  }))
end

---------------------------------------------------------------------------
-- Transaction Status and Account Balance
---------------------------------------------------------------------------

local function query_ack(q)
  return json_response(200, json.object({
    { "OriginatorConversationID", q.ocid },
    { "ConversationID", q.conversationId },
    { "ResponseCode", "0" },
    { "ResponseDescription", ACCEPTED },
  }))
end

local function failure_result(q, code, desc, reference)
  return json.encode(json.object({ { "Result", json.object({
    { "ResultType", 0 },
    { "ResultCode", code },
    { "ResultDesc", desc },
    { "OriginatorConversationID", q.ocid },
    { "ConversationID", q.conversationId },
    { "TransactionID", util.placeholder_receipt() },
    { "ReferenceData", json.object({ { "ReferenceItem", reference } }) },
  }) } }))
end

function Sim:new_query(kind, body)
  local q = {
    kind = kind,
    ocid = util.request_id(),
    conversationId = util.conversation_id(),
    resultUrl = body.ResultURL,
    credentialValid = self.checker:matches(body.SecurityCredential, self.config.initiatorPassword),
  }
  self.queries[#self.queries + 1] = q
  return q
end

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

function Sim:transaction_status(body)
  local bad = check_query(body, "TransactionStatusQuery")
  if bad then
    return bad_field(bad)
  end
  local q = self:new_query("transactionstatus", body)
  local ocid = nonempty(body.OriginalConversationID)
  local txid = nonempty(field(body, "TransactionID", "Transaction ID"))
  q.asked = { originalConversationId = ocid, transactionId = txid }
  local p = (ocid and self.payoutByOcid[ocid]) or (txid and self.payoutByReceipt[txid])
  local occasion = as_text(body.Occasion)
  local reference = json.object({ { "Key", "Occasion" }, { "Value", occasion ~= "" and occasion or nil } })
  local result
  if not q.credentialValid then
    q.resultCode = 2001
    result = failure_result(q, 2001, scenarios.DESC[2001], reference)
  elseif not p then
    q.resultCode = M.NOT_FOUND_CODE
    result = failure_result(q, M.NOT_FOUND_CODE, M.NOT_FOUND_DESC, reference)
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
  self.callbacks:schedule(body.ResultURL, result, self.config.callbackDelay,
    { ocid = q.ocid, conversationId = q.conversationId, api = "transactionstatus" })
  return query_ack(q)
end

function Sim:balance_text()
  local function account(name, cents)
    local m = json.encode(json.money(cents))
    return string.format("%s|KES|%s|%s|0.00|0.00", name, m, m)
  end
  return table.concat({
    account("Working Account", self.working),
    account("Float Account", 0),
    account("Utility Account", self.utility),
    account("Charges Paid Account", self.charges),
    account("Organization Settlement Account", 0),
  }, "&")
end

function Sim:account_balance(body)
  local bad = check_query(body, "AccountBalance")
  if bad then
    return bad_field(bad)
  end
  local q = self:new_query("accountbalance", body)
  local reference = kv("QueueTimeoutURL", self:internal_url("abresults"))
  local result
  if not q.credentialValid then
    q.resultCode = 2001
    result = failure_result(q, 2001, scenarios.DESC[2001], reference)
  else
    q.resultCode = 0
    result = json.encode(json.object({ { "Result", json.object({
      { "ResultType", "0" },
      { "ResultCode", "0" },
      { "ResultDesc", "The service request is processed successfully" },
      { "OriginatorConversationID", q.ocid },
      { "ConversationID", q.conversationId },
      { "TransactionID", util.placeholder_receipt() },
      { "ResultParameters", json.object({ { "ResultParameter", json.array({
        kv("AccountBalance", self:balance_text()),
        kv("BOCompletedTime", util.eat_date("%Y%m%d%H%M%S")),
      }) } }) },
      { "ReferenceData", json.object({ { "ReferenceItem", reference } }) },
    }) } }))
  end
  self.callbacks:schedule(body.ResultURL, result, self.config.callbackDelay,
    { ocid = q.ocid, conversationId = q.conversationId, api = "accountbalance" })
  return query_ack(q)
end

---------------------------------------------------------------------------
-- Control endpoints (/sim/...)
---------------------------------------------------------------------------

local function money_number(cents)
  return json.money(cents)
end

function Sim:public_config()
  local c = self.config
  return {
    consumerKey = c.consumerKey,
    consumerSecret = c.consumerSecret,
    initiatorPassword = c.initiatorPassword,
    tokenTtl = c.tokenTtl,
    expiresInNumber = c.expiresInNumber,
    invalidTokenStyle = tostring(c.invalidTokenStyle),
    rejectAllTokens = c.rejectAllTokens,
    callbackDelay = c.callbackDelay,
    callbackAttempts = c.callbackAttempts,
    callbackBackoff = json.array(copy(c.callbackBackoff)),
    callbackTimeout = c.callbackTimeout,
    callbackHistory = c.callbackHistory,
    faults = json.array(faults.describe(c.faults)),
  }
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

function Sim:stats()
  local payouts = json.array()
  for _, p in ipairs(self.payouts) do
    payouts[#payouts + 1] = {
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
  for _, q in ipairs(self.queries) do
    queries[#queries + 1] = {
      kind = q.kind, ocid = q.ocid, conversationId = q.conversationId,
      resultCode = q.resultCode, found = q.found, asked = q.asked,
      credentialValid = q.credentialValid,
    }
  end
  local cbs = json.array(self.callbacks:history())
  local counts = self.callbacks.counts
  local valid = 0
  local now = socket.gettime()
  for token, e in pairs(self.tokens) do
    if e.expires > now and self.latest[e.key] == token then
      valid = valid + 1
    end
  end
  return {
    tokensIssued = self.tokensIssued,
    tokensValid = valid,
    requests = self.requests,
    sendsByOcid = self.sendsByOcid,
    payouts = payouts,
    queries = queries,
    callbacks = cbs,
    -- exact counts; `callbacks` holds the newest callbackHistory of them
    callbacksTotal = counts.total,
    callbacksDelivered = counts.delivered,
    callbacksFailed = counts.failed,
    callbacksPending = counts.total - counts.delivered - counts.failed,
    callbacksTruncated = counts.truncated,
    lastHeaders = self.lastHeaders or json.null,
    lastPaymentRequest = self.lastPaymentRequest or json.null,
    paymentsPerSecond = per_second(self.paymentsBySecond),
    balance = {
      utility = money_number(self.utility),
      working = money_number(self.working),
      chargesPaid = money_number(self.charges),
    },
    credentialEngine = self.checker:engine(),
    config = self:public_config(),
    scenarios = scenarios.list(),
  }
end

-- Bounds of the settings given as whole numbers.
M.MAX_BALANCE = 1e13        -- KES: every cent below it is exact in a double
M.MAX_CALLBACK_HISTORY = 1000000

--- Whole cents of a balance check_setting accepted.
function M.cents(kes)
  return math.tointeger(math.floor(kes * 100 + 0.5))
end

local function shown(v)
  local t = type(v)
  if t == "number" or t == "boolean" then
    return tostring(v)
  end
  return t == "string" and string.format("%q", v:sub(1, 40)) or t
end

--- nil when v suits setting k (balance, callbackHistory), else why not.
-- Also used for the command line's --balance and --callback-history.
function M.check_setting(k, v)
  if k == "balance" then
    if type(v) ~= "number" or not (v >= 0 and v <= M.MAX_BALANCE)
        or tonumber(string.format("%.2f", v)) ~= v then
      return string.format("balance must be KES from 0 to %.0f with at most 2 decimals, got %s",
        M.MAX_BALANCE, shown(v))
    end
  elseif k == "callbackHistory" then
    if type(v) ~= "number" or not math.tointeger(v) or v < 0 or v > M.MAX_CALLBACK_HISTORY then
      return string.format("callbackHistory must be a whole number from 0 to %d, got %s",
        M.MAX_CALLBACK_HISTORY, shown(v))
    end
  end
  return nil
end

local function positive(v)
  return type(v) == "number" and v > 0 and v < 1e9
end

-- Apply /sim/config settings. Returns true or nil, message.
function Sim:configure(t)
  if type(t) ~= "table" then
    return nil, "config must be a JSON object"
  end
  local c = copy(self.config)
  local set_balance
  for k, v in pairs(t) do
    if k == "tokenTtl" then
      if not positive(v) then return nil, "tokenTtl must be a positive number" end
      c.tokenTtl = v
    elseif k == "callbackDelay" then
      if type(v) ~= "number" or v < 0 or v > 3600 then return nil, "callbackDelay must be >= 0" end
      c.callbackDelay = v
    elseif k == "invalidTokenStyle" then
      local s = tostring(v)
      if s ~= "404" and s ~= "401" then return nil, "invalidTokenStyle must be \"404\" or \"401\"" end
      c.invalidTokenStyle = s
    elseif k == "expiresInNumber" then
      if type(v) ~= "boolean" then return nil, "expiresInNumber must be true or false" end
      c.expiresInNumber = v
    elseif k == "rejectAllTokens" then
      if type(v) ~= "boolean" then return nil, "rejectAllTokens must be true or false" end
      c.rejectAllTokens = v
    elseif k == "callbackAttempts" then
      local n = math.tointeger(v)
      if not n or n < 1 or n > 20 then return nil, "callbackAttempts must be 1..20" end
      c.callbackAttempts = n
    elseif k == "callbackBackoff" then
      if type(v) == "number" then
        v = { v }
      end
      if type(v) ~= "table" or #v == 0 then return nil, "callbackBackoff must be a list of seconds" end
      for _, x in ipairs(v) do
        if type(x) ~= "number" or x < 0 or x > 600 then return nil, "callbackBackoff must be a list of seconds" end
      end
      c.callbackBackoff = v
    elseif k == "callbackHistory" then
      local err = M.check_setting(k, v)
      if err then return nil, err end
      c.callbackHistory = math.tointeger(v)
    elseif k == "callbackTimeout" then
      if not positive(v) then return nil, "callbackTimeout must be a positive number" end
      c.callbackTimeout = v
    elseif k == "balance" then
      local err = M.check_setting(k, v)
      if err then return nil, err end
      set_balance = v
    elseif k == "consumerKey" or k == "consumerSecret" or k == "initiatorPassword" then
      if type(v) ~= "string" or v == "" then return nil, k .. " must be a non-empty string" end
      c[k] = v
    elseif k == "fault" or k == "faults" then
      local list = {}
      if v == false or v == json.null or v == "" or v == "none" then
        list = {}
      else
        if k == "fault" then
          v = { v }
        end
        if type(v) ~= "table" then return nil, "faults must be a list" end
        for _, item in ipairs(v) do
          if type(item) == "string" then
            item = { spec = item }
          end
          local f, err = faults.global(item)
          if not f then return nil, err end
          list[#list + 1] = f
        end
      end
      c.faults = list
    else
      return nil, "unknown setting " .. tostring(k)
    end
  end
  self.config = c
  if set_balance then
    self.utility = M.cents(set_balance)
  end
  self.callbacks:trim(c.callbackHistory)
  return true
end

local function is_loopback(ip)
  return ip == nil or ip:match("^127%.") ~= nil or ip == "::1" or ip:match("^::ffff:127%.") ~= nil
end

function Sim:control(req)
  if not is_loopback(req.peer) then
    return sim_error(403, "control endpoints answer loopback clients only")
  end
  local path, method = req.path, req.method
  if path == "/sim/stats" and method == "GET" then
    return json_response(200, self:stats())
  elseif path == "/sim/health" and method == "GET" then
    return json_response(200, { ok = true })
  elseif path == "/sim/reset" and method == "POST" then
    self:reset()
    return json_response(200, { ok = true })
  elseif path == "/sim/revoke-tokens" and method == "POST" then
    self:revoke_tokens()
    return json_response(200, { ok = true })
  elseif path == "/sim/config" and method == "POST" then
    local t = json.decode(req.body ~= "" and req.body or "{}")
    local ok, err = self:configure(t)
    if not ok then
      return sim_error(400, err)
    end
    return json_response(200, { ok = true, config = self:public_config() })
  elseif path == "/sim/config" and method == "GET" then
    return json_response(200, self:public_config())
  end
  return sim_error(404, "no such control endpoint " .. method .. " " .. path)
end

---------------------------------------------------------------------------
-- Dispatch
---------------------------------------------------------------------------

local ROUTES = {
  [OAUTH] = { method = "GET", fn = function(self, req) return self:oauth(req) end },
  [B2C_V3] = { method = "POST", api = true, payment = true,
    fn = function(self, _, body) return self:payment(body, false) end },
  [B2C_V1] = { method = "POST", api = true, payment = true,
    fn = function(self, _, body) return self:payment(body, true) end },
  [TX_STATUS] = { method = "POST", api = true,
    fn = function(self, _, body) return self:transaction_status(body) end },
  [BALANCE] = { method = "POST", api = true,
    fn = function(self, _, body) return self:account_balance(body) end },
}

function Sim:record_payment_request(req, body)
  local headers = {}
  for _, h in ipairs(req.header_list) do
    headers[h[1]] = h[2]
  end
  for k, v in pairs(req.headers) do
    headers[k] = v
  end
  self.lastHeaders = headers
  local second = math.floor(socket.gettime())
  self.paymentsBySecond[second] = (self.paymentsBySecond[second] or 0) + 1
  if type(body) == "table" then
    self.lastPaymentRequest = body
    local ocid = body.OriginatorConversationID
    if type(ocid) == "string" then
      self.sendsByOcid[ocid] = (self.sendsByOcid[ocid] or 0) + 1
    end
  end
end

-- The fault for a request: header, then Remarks text, then global faults.
-- Returns fault or nil, or false, response when the header is malformed.
function Sim:fault_for(req, body)
  local spec = req.headers[M.FAULT_HEADER]
  if spec then
    local f, err = faults.parse(spec)
    if not f then
      return false, sim_error(400, err)
    end
    return f
  end
  if type(body) == "table" and type(body.Remarks) == "string" then
    local s = body.Remarks:match("sim:fault=(%S+)")
    if s then
      local f, err = faults.parse(s)
      if not f then
        return false, sim_error(400, err)
      end
      return f
    end
  end
  return faults.take(self.config.faults, req.path)
end

--- Answer one request (runs inside the connection's task; may sleep).
function Sim:handle(req)
  local path = req.path
  if path:sub(1, 5) == "/sim/" then
    return self:control(req)
  end
  self.requests[path] = (self.requests[path] or 0) + 1
  local route = ROUTES[path]
  local body
  if route and route.api and req.body ~= "" then
    body = json.decode(req.body)
  end
  if route and route.payment and req.method == "POST" then
    self:record_payment_request(req, body)
  end

  local fault, fault_reply = self:fault_for(req, body)
  if fault == false then
    return fault_reply
  end
  if fault and fault.action then
    local reply = fault_response(fault.action)
    if reply then
      if fault.delay > 0 then
        self.loop:sleep(fault.delay)
      end
      return reply
    end
  end

  local res
  if not route then
    res = gateway_error(404, "404.001.01", "Resource not found")
  elseif req.method ~= route.method then
    res = sim_error(405, "use " .. route.method .. " for " .. path)
  elseif route.api then
    local checked, err_res = self:api_preamble(req, body)
    if checked then
      res = route.fn(self, req, checked)
    else
      res = err_res
    end
  else
    res = route.fn(self, req)
  end

  if fault then
    if fault.delay > 0 then
      self.loop:sleep(fault.delay)
    end
    if fault.action == "drop" then
      res.drop = true
    elseif fault.action == "truncate" then
      res.truncate = true
    elseif fault.action == "oversize" then
      res.body = (res.body or "") .. string.rep(" ", 1024 * 1024)
    elseif fault.action == "trickle" then
      res.trickle = 1
    elseif fault.action == "bare502" then
      res = { status = 502, headers = { { "Content-Type", "text/plain" } }, body = "" }
    end
  end
  return res
end

return M
