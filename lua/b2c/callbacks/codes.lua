-- b2c.resultCodes and b2c.describe: what a ResultCode or a gateway
-- errorCode means, sorted into the few classes an operator acts on.
--   success            paid
--   insufficient_funds top up, then pay again
--   recipient          this recipient cannot be paid as given: fix it, skip it
--   configuration      credentials, permissions, settings: stop the batch and fix them
--   limit              outside an amount, balance or quota limit
--   transient          may pass later: reconcile by OCID first, then retry with a new OCID
--   unknown            not in the catalogue: reconcile before deciding anything
local as_integer = require("b2c.fields").as_integer
local outcome = require("b2c.outcome")

local codes = {}

local CLASS_ADVICE = {
  success = "paid: record the receipt",
  insufficient_funds = "top up the B2C utility account, then pay again with a new OriginatorConversationID",
  recipient = "fix or check the recipient; paying the same recipient again fails the same way",
  configuration = "fix credentials, permissions or settings; stop the batch, every payout fails the same way",
  limit = "outside a limit: change the amount or wait for the limit to reset",
  transient = "reconcile with Transaction Status by OriginatorConversationID; if not paid, retry later "
    .. "with a new OriginatorConversationID",
  unknown = "unknown code: reconcile with Transaction Status by OriginatorConversationID before "
    .. "deciding anything",
}
codes.CLASS_ADVICE = CLASS_ADVICE

-- { code, text, class, advice }. ResultCodes of the result callbacks are
-- numbers (or strings where Daraja uses letters); gateway errorCodes are
-- the dotted strings of the synchronous error answers.
local LIST = {
  -- ResultCode in result callbacks
  { 0, "The service request is processed successfully.", "success",
    "paid: record the receipt (TransactionReceipt)" },
  { 1, "The balance is insufficient for the transaction.", "insufficient_funds",
    "top up the B2C utility account (or move funds from the working account), then pay again "
      .. "with a new OriginatorConversationID" },
  { 2, "Declined due to limit rule: less than the minimum transaction amount.", "limit",
    "the amount is below the minimum per transaction (KES 10)" },
  { 3, "Declined due to limit rule: greater than the maximum transaction amount.", "limit",
    "the amount is above the maximum per transaction (KES 250,000): split it" },
  { 4, "Declined: the customer's daily transfer limit is reached.", "limit",
    "the recipient reached a daily limit: pay again tomorrow or pay less" },
  { 8, "Declined: the customer's account would exceed its maximum balance.", "limit",
    "the recipient's wallet would go over its maximum balance: pay less or later" },
  { 11, "The debit party is in an invalid state.", "configuration",
    "your shortcode's account is not in a state to pay: ask Safaricom to check it; stop the batch" },
  { 15, "Duplicate detected.", "transient",
    "M-Pesa saw this as a duplicate: reconcile by OriginatorConversationID, the first payout may "
      .. "have gone through" },
  { 17, "Internal failure.", "transient",
    "M-Pesa failed internally: reconcile by OriginatorConversationID, then retry with a new one" },
  { 18, "Initiator credential check failure.", "configuration",
    "the initiator password or certificate is wrong: check with `b2c credential`; stop the batch "
      .. "before the initiator is locked" },
  { 20, "Unresolved initiator.", "configuration",
    "the initiator name is not known on this shortcode: check initiatorName" },
  { 21, "The initiator is not allowed to initiate this request.", "configuration",
    "the API operator lacks the B2C role: ask the shortcode's administrator; stop the batch" },
  { 22, "Initiator to receiver permission failure.", "configuration",
    "this shortcode may not pay this kind of receiver: check the product and commandId" },
  { 26, "System busy.", "transient",
    "M-Pesa was busy: reconcile by OriginatorConversationID, then retry later with a new one" },
  { 2001, "The initiator information is invalid.", "configuration",
    "wrong initiator password, certificate or encryption: check with `b2c credential` and "
      .. "`b2c cert`; stop the batch before the initiator is locked (8006)" },
  { 2006, "The account status does not allow this transaction.", "recipient",
    "an account involved is frozen or dormant (usually the recipient's line; if every payout "
      .. "fails, your shortcode's)" },
  { 2028, "The request is not permitted according to product assignment.", "configuration",
    "the shortcode lacks this product or commandId: ask Safaricom; stop the batch" },
  { 2032, "The transaction receipt number does not exist.", "transient",
    "not found: the payout never reached M-Pesa; it is safe to pay again with a new "
      .. "OriginatorConversationID" },
  { 2033, "The transaction does not exist.", "transient",
    "not found: the payout never reached M-Pesa; it is safe to pay again with a new "
      .. "OriginatorConversationID" },
  { 2040, "Credit Party customer type (Unregistered or Registered Customer) can't be supported "
      .. "by the service.", "recipient",
    "the recipient is not a registered M-Pesa customer: ask them to register, or pay another way" },
  { 8006, "The security credential is locked.", "configuration",
    "the initiator is locked after failed attempts: have it unlocked (M-Pesa org portal) and "
      .. "fix the credential; stop the batch" },
  { "SFC_IC0003", "The operator does not exist.", "recipient",
    "the recipient number is not a Safaricom line: check recipientPhone" },
  -- Reversal API results (Daraja's Reversal page)
  { "R000001", "The transaction has already been reversed. (Reversal API)", "recipient",
    "already reversed: the money went back earlier (a reversal sent again after a lost "
      .. "acknowledgement gets this when the first went through); nothing more to do for this receipt" },
  { "R000002", "The OriginalTransactionID is invalid. (Reversal API)", "configuration",
    "Daraja has no payment it can reverse under this receipt: check transactionId (a customer's "
      .. "payment INTO receiverShortCode). Daraja does not reverse B2C or B2Pochi payouts through "
      .. "the API at all: reverse those by hand on the M-PESA org portal" },

  -- Gateway errorCode in synchronous error answers
  { "400.002.02", "Bad Request - Invalid <Field>", "configuration",
    "Daraja refused a field (named in the message): fix it; nothing was processed" },
  { "400.002.05", "Invalid Request Payload", "configuration",
    "Daraja could not read the request: nothing was processed; report it as a bug" },
  { "400.003.01", "Invalid Access Token", "transient",
    "the token was refused before processing (the SDK already fetched a new one once): retry" },
  { "401.002.01", "Error Occurred - Invalid Access Token", "transient",
    "the token was refused before processing (the SDK already fetched a new one once): retry" },
  { "403.002.1001", "You are not authorized to initiate this transaction", "configuration",
    "the app or shortcode may not use this API: check the Daraja app's products; stop the batch" },
  { "404.001.03", "Invalid Access Token", "transient",
    "the token was refused before processing (the SDK already fetched a new one once): retry" },
  { "404.001.04", "Invalid Authentication Header", "configuration",
    "the Authorization header was refused: check consumerKey and consumerSecret" },
  { "400.008.01", "Invalid Authentication passed", "configuration",
    "OAuth refused the consumer key or secret: check them (sandbox and production keys differ)" },
  { "400.008.02", "Invalid grant type passed", "configuration",
    "OAuth refused the grant type: report it as a bug" },
  { "500.001.1001", "Internal Server Error", "transient",
    "ambiguous: reconcile by OriginatorConversationID before any retry" },
  { "500.002.1001", "Duplicate OriginatorConversationID.", "transient",
    "this OriginatorConversationID was already submitted: reconcile by it, never resend it" },
  { "500.003.02", "Error Occurred: Spike Arrest Violation", "transient",
    "rate limited and rejected before processing: back off, then send again" },
  { "500.003.03", "Quota Violation", "limit",
    "the app's quota is used up; rejected before processing: wait for it to reset or ask Safaricom" },
  { "500.003.1001", "Internal Server Error", "transient",
    "ambiguous: reconcile by OriginatorConversationID before any retry" },
}

local catalogue = {}
for _, e in ipairs(LIST) do
  catalogue[e[1]] = { code = e[1], text = e[2], class = e[3], advice = e[4] }
end
codes.catalogue = catalogue

-- A code as the catalogue keys it: "2001" and 2001.0 become 2001.
local function key(code)
  if type(code) == "number" then
    if code == math.floor(code) then return as_integer(code) end
    return nil
  end
  if type(code) ~= "string" then return nil end
  local s = code:match("^%s*(.-)%s*$")
  if s:match("^%d+$") and #s < 10 then return as_integer(tonumber(s)) end
  return s
end

function codes.lookup(code)
  local k = key(code)
  return k ~= nil and catalogue[k] or nil
end

local function unknown(code)
  return "unknown", "code " .. tostring(code) .. " is not in the catalogue: "
    .. CLASS_ADVICE.unknown
end

local function describe_code(code)
  local e = codes.lookup(code)
  if not e then return unknown(code) end
  return e.class, e.advice
end

-- Operations where Daraja makes the OCID (B2B, Top Up, Reversal) leave
-- none to query by when the acknowledgement is lost.
local function reconcile_first(err)
  if err.originatorConversationId == nil then
    return "transient", "the request may have gone through and Daraja made its "
      .. "OriginatorConversationID, so there is none to query by: reconcile from the M-PESA "
      .. "statement (or Account Balance), or by Transaction Status with the receipt once known, "
      .. "before sending it again"
  end
  return "transient", "the payout may have gone through: reconcile with Transaction Status by "
    .. "OriginatorConversationID " .. tostring(err.originatorConversationId) .. " before any retry"
end

-- A synchronous answer's ResponseCode other than "0": Daraja refused the
-- request before processing. Not a callback ResultCode ("1" is not
-- insufficient funds here).
local function refused(code, text)
  return "configuration", "Daraja did not accept the request (synchronous ResponseCode "
    .. tostring(code) .. (text and ": " .. tostring(text):sub(1, 120) or "") .. "); nothing was processed: "
    .. "fix the request before sending it again"
end

local SEND_KINDS = { validation = true, config = true, auth = true, api = true, http = true,
  network = true, timeout = true, thread = true }

-- An error object from the SDK (or its plain copy from b2c.ngx): first what
-- the outcome means for the money (b2c.outcome), then the code's advice.
local function describe_error(err)
  local kind, message = err.kind, type(err.message) == "string" and err.message or ""
  local class = SEND_KINDS[kind] and outcome.of(err) or nil -- a callback is no send outcome
  local code = err.code ~= nil and key(err.code) or nil
  if kind == "api" and err.responseCode ~= nil then return refused(err.responseCode) end
  -- Gateway errorCodes are dotted; a bare number on an api error can only
  -- be a synchronous ResponseCode.
  if kind == "api" and code ~= nil and not tostring(code):find(".", 1, true) then
    return refused(code)
  end
  if code ~= nil and codes.lookup(code) then
    if code == "401.002.01" and message:find("apiproduct", 1, true) then
      return "configuration", "the Daraja app lacks this API product: enable it on the Daraja "
        .. "portal; stop the batch"
    end
    if code == "400.002.02" and message:find("Invalid PartyB", 1, true) then
      return "recipient", "Daraja refused the recipient number: check recipientPhone"
    end
    local c, advice = describe_code(code)
    if class ~= "ambiguous" or c == "transient" then return c, advice end
    return reconcile_first(err)
  end
  if class == "ambiguous" then return reconcile_first(err) end
  if kind == "validation" then
    if err.field == "recipientPhone" then
      return "recipient", "fix the recipient number (" .. message .. "); nothing was sent"
    elseif err.field == "amount" then
      return "limit", "fix the amount (" .. message .. "); nothing was sent"
    end
    return "configuration", "fix the request (" .. message .. "); nothing was sent"
  elseif kind == "config" or kind == "auth" then
    return "configuration", "fix the settings (" .. message .. "); stop the batch"
  elseif class == "unsent" then
    if err.cause == "descriptors" then
      return "transient", "nothing was sent: this process ran out of file descriptors; lower "
        .. "the concurrency or raise ulimit -n, then send again"
    end
    return "transient", "nothing was sent: safe to try again later"
  elseif kind == "http" then
    return "configuration", "an answer that is not Daraja's (a proxy or firewall page?): check "
      .. "baseUrl and your network; stop the batch"
  end
  if err.code ~= nil then return unknown(err.code) end
  return "unknown", CLASS_ADVICE.unknown
end

-- b2c.describe(x) -> class, advice. x: a code (number or string), a parsed
-- result, a decoded callback, or an error object. Never raises.
function codes.describe(x)
  if type(x) == "number" or type(x) == "string" then return describe_code(x) end
  if type(x) ~= "table" then return "unknown", "nothing to describe (" .. type(x) .. ")" end
  if x.kind ~= nil then return describe_error(x) end
  local r = x
  if type(x.Result) == "table" then r = x.Result end
  if r.ResultCode ~= nil then return describe_code(r.ResultCode) end
  if x.errorCode ~= nil then return describe_code(x.errorCode) end
  if x.ResponseCode ~= nil then
    local code = key(x.ResponseCode)
    if code == 0 then
      return "unknown", "accepted for processing, not paid yet: the result comes by callback; "
        .. "reconcile by OriginatorConversationID if none arrives"
    end
    return refused(x.ResponseCode, x.ResponseDescription)
  end
  return "unknown", "no ResultCode or errorCode to describe"
end

return codes
