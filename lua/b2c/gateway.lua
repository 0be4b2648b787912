-- One Daraja API call: token, request, answer -> ack or error object.
-- The C core moves the bytes and keeps the secrets; this file decides what
-- an answer means and whether anything may be tried again.
local json = require("b2c.json")
local errors = require("b2c.errors")
local outcome = require("b2c.outcome")

local gateway = {}

-- Answers meaning "this token is not valid", rejected before processing:
-- the one case where a request is sent again (once, with a fresh token).
local INVALID_TOKEN = { ["401.002.01"] = true, ["404.001.03"] = true, ["400.003.01"] = true }

local EMFILE, ENFILE = 24, 23

local function snippet(body)
  local s = tostring(body or ""):sub(1, 120):gsub("[%z\1-\31\127]+", " ")
  return s
end

local function reconcile_advice(ocid)
  return "the payout may have gone through: reconcile with Transaction Status by "
    .. "OriginatorConversationID " .. tostring(ocid) .. " before any resend"
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
  local what = ctx.payout and reconcile_advice(ctx.ocid) or "it is safe to try again"
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
    .. "OriginatorConversationID %q); %s", status, snippet(got), reconcile_advice(ctx.ocid)),
    { status = status, originatorConversationId = ctx.ocid, outcome = "ambiguous" })
end

-- An answer to a payout that may follow processing (2xx) but cannot be read.
local function unreadable(status, what, ctx, fields)
  if ctx.payout and status >= 200 and status < 300 then
    fields.outcome = "ambiguous"
    return nil, errors.new("timeout", string.format("HTTP %d from Daraja %s; %s", status, what,
      reconcile_advice(ctx.ocid)), fields)
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
    if ctx.payout and status >= 500 then advice = "; " .. reconcile_advice(ctx.ocid) end
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
      message = message .. "; " .. reconcile_advice(ctx.ocid)
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
function gateway.interpret(status, body, ctx)
  local ack, err = interpret(status, body, ctx)
  if err then outcome.mark(err) end
  return ack, err
end

-- OAuth failures: bad key/secret is "auth"; the gateway or network failing
-- on the way is worth another try (a token fetch moves no money).
local function token_error(f)
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

-- A token from the store shared between processes, when it holds a usable
-- one: handed to the core (which shares it with this process's clients).
-- A token the gateway has refused is not taken back: the store may still
-- hold it (a deletion waits for no lock another process holds while it
-- fetches). Returns the token, or nil and that stale token.
local function import_stored(core, shared)
  local token, ttl = shared.store:get(shared.key)
  if type(token) == "string" and token ~= "" and type(ttl) == "number" and ttl > 0 then
    if core:import_token(token, ttl) then return token end
    return nil, token
  end
end

-- Makes sure the core holds a token. Without a store this is core:token()
-- (the process cache, one fetch at a time across threads). With one
-- (shared = { store, key, lockSeconds }): the process cache, else the
-- store, else one fetch at a time across processes under the store's lock,
-- published to the store. Returns the token as used (only with a store: to
-- delete it from the store if the gateway refuses it), or nil, failure.
local function ensure_token(core, shared)
  if not shared then
    local ok, f = core:token()
    if not ok then return nil, f end
    return true
  end
  if core:cached_token() then
    -- The very token this client sends, to delete it from the store if it
    -- is refused (never a newer one another thread put there meanwhile).
    return core:export_token() or true
  end
  local token, stale = import_stored(core, shared)
  if token then return token end
  local store, key = shared.store, shared.key
  -- lock() waits while another process fetches; true when we hold the lock,
  -- false when it timed out or a token other than the stale one appeared.
  local locked = store:lock(key, shared.lockSeconds, stale)
  token = import_stored(core, shared)
  if not token then
    local ok, f = core:token()
    if ok then
      local ttl
      token, ttl = core:export_token()
      if token and ttl > 0 then store:set(key, token, ttl) end
    else
      if locked then store:unlock(key) end
      return nil, f
    end
  end
  if locked then store:unlock(key) end
  return token or true
end

-- POSTs body (a JSON object; the core adds SecurityCredential) to path.
-- ctx: { ocid = ..., payout = true|false, shared = nil | { store, key,
-- lockSeconds } }. Returns the decoded ack or nil, err.
function gateway.call(core, path, body, ctx)
  for attempt = 1, 2 do
    local used, f = ensure_token(core, ctx.shared)
    if not used then return nil, token_error(f) end
    local status, answer = core:post(path, body, true)
    if not status then return nil, transport_error(answer, ctx) end
    local ack, err = gateway.interpret(status, answer, ctx)
    if ack or attempt == 2 or not is_invalid_token(err) then return ack, err end
    if ctx.shared and type(used) == "string" then ctx.shared.store:delete(ctx.shared.key, used) end
    core:drop_token()
  end
end

-- The same decisions, for calls driven by polling (b2c.async).
gateway.token_error = token_error
gateway.transport_error = transport_error
gateway.is_invalid_token = is_invalid_token

return gateway
