-- What an answer from Daraja means: a complete HTTP answer, a transport
-- failure or a failed token fetch -> ack or error object with its outcome
-- class (b2c.outcome). ctx: { ocid = ..., label = "payout" | ..., payout =
-- true when the request may move money }. request.lua decides what is next.
local json = require("b2c.json")
local errors = require("b2c.errors")
local outcome = require("b2c.outcome")

local answer = {}

-- Answers meaning "this token is not valid", rejected before processing:
-- the one case where a request is sent again (once, with a fresh token).
local INVALID_TOKEN = { ["401.002.01"] = true, ["404.001.03"] = true, ["400.003.01"] = true }

local EMFILE, ENFILE = 24, 23

local function snippet(body)
  local s = tostring(body or ""):sub(1, 120):gsub("[%z\1-\31\127]+", " ")
  return s
end

-- ctx.label names what was sent ("payout" unless the operation says).
-- Where Daraja makes the OCID none is held: ctx.reconcile (the
-- operation's op.reconcile) says how to reconcile instead.
local function reconcile_advice(ctx)
  if ctx.ocid == nil and ctx.reconcile then
    return "the " .. (ctx.label or "payout") .. " may have gone through: " .. ctx.reconcile
  end
  return "the " .. (ctx.label or "payout") .. " may have gone through: reconcile with "
    .. "Transaction Status by OriginatorConversationID " .. tostring(ctx.ocid) .. " before any resend"
end

local function is_invalid_token(e)
  return e.kind == "api" and INVALID_TOKEN[e.code] and not tostring(e.message):find("apiproduct")
end

-- libcurl says only "Couldn't connect" when socket() fails for want of a
-- file descriptor; opening a file tells whether that was the cause.
local function out_of_descriptors()
  local f, _, code = io.open("/dev/null", "rb")
  if f then f:close(); return false end
  return code == EMFILE or code == ENFILE
end

-- A failure of the transport (no complete answer) as an error object.
local function transport_error(f, ctx)
  local fields = { originatorConversationId = ctx.ocid, status = f.status }
  if f.outcome == "unsent" then
    fields.retryable, fields.outcome = f.retryable, "unsent"
    local why = f.message
    if not f.timedOut and out_of_descriptors() then
      fields.cause = "descriptors"
      why = why .. ": too many open files in this process (lower the concurrency or raise "
        .. "ulimit -n)"
    end
    return errors.new(f.timedOut and "timeout" or "network",
      "could not reach Daraja (" .. why .. "); nothing was sent", fields)
  end
  local what = ctx.payout and reconcile_advice(ctx) or "it is safe to try again"
  fields.retryable = not ctx.payout
  fields.outcome = "ambiguous"
  if f.outcome == "too_large" then
    -- Cut off after the request was processed: for a payout that is an
    -- answer never read, like a dropped connection.
    return errors.new(ctx.payout and "timeout" or "http", "Daraja's answer was too large ("
      .. f.message .. "); " .. what, fields)
  end
  return errors.new("timeout", "no complete answer after the request was sent ("
    .. f.message .. "); " .. what, fields)
end

-- An acknowledgement is for the request sent only when it names the same
-- OCID: any other (a connection shared by mistake, a confused proxy) says
-- nothing about this payout, which may or may not have been processed.
local function acknowledged(doc, status, ctx)
  local got = doc.OriginatorConversationID
  if ctx.ocid == nil or got == nil or got == ctx.ocid then return doc end
  return nil, errors.new("timeout", string.format("an acknowledgement for another payout (HTTP %d, "
    .. "OriginatorConversationID %q); %s", status, snippet(got), reconcile_advice(ctx)),
    { status = status, originatorConversationId = ctx.ocid, outcome = "ambiguous" })
end

-- An answer to a payout that may follow processing (2xx) but cannot be read.
local function unreadable(status, what, ctx, fields)
  if ctx.payout and status >= 200 and status < 300 then
    fields.outcome = "ambiguous"
    return nil, errors.new("timeout", string.format("HTTP %d from Daraja %s; %s", status, what,
      reconcile_advice(ctx)), fields)
  end
end

-- "0", or 0 (which lua-cjson may decode as the float 0.0 on Lua 5.3+).
local function is_zero(code) return code == "0" or code == 0 end

local function interpret(status, body, ctx)
  local doc = json.decode(body)
  -- Accepted: the usual answer, and the one to make cheap.
  if status == 200 and type(doc) == "table" and doc.errorCode == nil then
    if is_zero(doc.ResponseCode) then return acknowledged(doc, status, ctx) end
  end
  local fields = { status = status, originatorConversationId = ctx.ocid }
  if type(doc) ~= "table" then
    local what = string.format("with a body that is not JSON: %q", snippet(body))
    local ack, err = unreadable(status, what, ctx, fields)
    if err then return ack, err end
    local advice = ""
    if ctx.payout and status >= 500 then advice = "; " .. reconcile_advice(ctx) end
    return nil, errors.new("http", string.format("HTTP %d from Daraja %s%s", status, what, advice),
      fields)
  end
  if type(doc.errorCode) == "string" then
    local code = doc.errorCode
    fields.code = code
    fields.requestId = type(doc.requestId) == "string" and doc.requestId or nil
    fields.retryable = code == outcome.SPIKE_ARREST
    local text = type(doc.errorMessage) == "string" and doc.errorMessage or "Daraja error"
    local message = string.format("%s (Daraja %s, HTTP %d)", text, code, status)
    if code == "500.002.1001" then
      message = message .. "; this OriginatorConversationID was already submitted: "
        .. "reconcile, never resend it"
    elseif ctx.payout and outcome.is_ambiguous_code(code) then
      message = message .. "; " .. reconcile_advice(ctx)
    end
    return nil, errors.new("api", message, fields)
  end
  if status == 200 and doc.ResponseCode ~= nil then
    if is_zero(doc.ResponseCode) then return acknowledged(doc, status, ctx) end
    -- A synchronous refusal: its ResponseCode is not a callback ResultCode
    -- (ResponseCode "1" is not "insufficient funds"), so it is kept apart.
    fields.responseCode = tostring(doc.ResponseCode)
    fields.outcome = "rejected"
    return nil, errors.new("api", string.format("Daraja did not accept the request: %s (ResponseCode %s)",
      tostring(doc.ResponseDescription), fields.responseCode), fields)
  end
  local what = string.format("that is not an acknowledgement: %q", snippet(body))
  local ack, err = unreadable(status, what, ctx, fields)
  if err then return ack, err end
  return nil, errors.new("http", string.format("unexpected answer from Daraja: HTTP %d %q",
    status, snippet(body)), fields)
end

-- A complete HTTP answer (status, body) as ack or error object (with its
-- outcome class).
function answer.interpret(status, body, ctx)
  local ack, err = interpret(status, body, ctx)
  if err then outcome.mark(err) end
  return ack, err
end

-- OAuth failures: bad key/secret is "auth"; the gateway or network failing
-- on the way is worth another try (a token fetch moves no money).
local function token_error(f)
  if errors.is(f) then return f end -- the tokenStore's own failure
  if f.outcome ~= "response" then
    if f.outcome == "bad_answer" then
      return errors.new("auth", "OAuth: " .. f.message, { status = f.status, outcome = "unsent" })
    end
    local e = transport_error(f, { payout = false })
    e.originatorConversationId, e.outcome = nil, "unsent"
    return e
  end
  local doc = json.decode(f.body or "")
  local fields = { status = f.status, retryable = f.status >= 500 }
  if type(doc) == "table" and type(doc.errorCode) == "string" then
    fields.code = doc.errorCode
    fields.requestId = type(doc.requestId) == "string" and doc.requestId or nil
  end
  local text = type(doc) == "table" and type(doc.errorMessage) == "string" and doc.errorMessage
    or snippet(f.body)
  local kind = (f.status == 400 or f.status == 401 or f.status == 403) and "auth" or "http"
  fields.outcome = "unsent" -- no token, so the request itself never left
  return errors.new(kind, string.format("OAuth token request failed: %s (HTTP %d%s); check "
    .. "consumerKey and consumerSecret", text, f.status,
    fields.code and ", Daraja " .. fields.code or ""), fields)
end

answer.token_error = token_error
answer.transport_error = transport_error
answer.is_invalid_token = is_invalid_token

return answer
