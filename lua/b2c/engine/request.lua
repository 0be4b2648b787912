-- One call's state machine, the same for every operation and both modes:
--   token -> sending -> answered -> done
--                         `-> token again, once, when the gateway refused the
--                             token (not "no apiproduct match")
-- Nothing that may have moved money is ever sent again: only a refusal
-- before processing (an invalid token) is. run() drives a request to the
-- end (blocking); polled.lua drives many by step().
local now = require("b2c.core").now
local answer = require("b2c.engine.answer")
local outcome = require("b2c.outcome")
local about = require("b2c.events").about
local token = require("b2c.engine.token")

local request = {}

-- A request for operation op: body is the JSON text (SecurityCredential
-- is added by the core), ocid the OriginatorConversationID it carries, if any.
-- emit: the client's events emitter (b2c.events), nil without a hook.
function request.new(client, op, body, ocid, reference)
  return { path = op.path, body = body, ocid = ocid, payout = op.movesMoney, label = op.label,
    reconcile = op.reconcile, shared = client.sharedToken, reference = reference, attempt = 1,
    state = "token", done = false, operation = op.namespace, emit = client.emit,
    created = client.emit and now() }
end

-- The request is handed to the transport now.
function request.sending(r)
  r.state = "sending"
  if r.emit then
    r.sent_at = now()
    about(r, { name = "request.sent", attempt = r.attempt })
  end
end

-- The request has ended: ack or err, carrying the caller's reference.
function request.finish(r, ack, err)
  r.done, r.ack, r.err, r.state = true, ack, err, "done"
  local kept = ack or err
  if kept then kept.reference = r.reference end
  if r.emit then
    about(r, { name = "outcome", class = outcome.of(err), kind = err and err.kind,
      code = err and err.code, status = err and err.status or (ack and 200),
      message = err and err.message, attempt = r.attempt, latency = now() - r.created })
  end
  return ack, err
end

-- No complete answer came: the transport's failure as an error.
function request.failed(r, failure)
  return request.finish(r, nil, answer.transport_error(failure, r))
end

-- No token could be had: nothing was sent.
function request.no_token(r, failure)
  return request.finish(r, nil, answer.token_error(failure))
end

-- A complete answer (status, text). Returns true when the request is done;
-- false when it goes back for a fresh token (the token `used`, of core
-- generation `generation`, is forgotten here and in the store).
function request.answered(r, core, status, text, used, generation)
  if r.emit then
    about(r, { name = "request.answered", status = status, attempt = r.attempt,
      latency = now() - r.sent_at })
  end
  local ack, err = answer.interpret(status, text, r)
  if not ack and r.attempt == 1 and answer.is_invalid_token(err) then
    token.refused(core, r.shared, used, generation)
    r.attempt, r.state = 2, "token"
    if r.emit then
      about(r, { name = "token.refused", status = status, code = err.code })
      about(r, { name = "request.retry", reason = "token_refused", attempt = 2 })
    end
    return false
  end
  if ack and ack.OriginatorConversationID == nil then ack.OriginatorConversationID = r.ocid end
  request.finish(r, ack, err)
  return true
end

-- Blocking: the same states, driven to the end with the core's blocking
-- token fetch and post. Returns ack or nil, err.
function request.run(core, r)
  while true do
    local used, failure = token.ensure(core, r.shared, r)
    if not used then return request.no_token(r, failure) end
    request.sending(r)
    local status, text = core:post(r.path, r.body, true)
    if not status then return request.failed(r, text) end
    if request.answered(r, core, status, text, used) then return r.ack, r.err end
  end
end

return request
