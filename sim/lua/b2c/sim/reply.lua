-- The answers the simulated gateway writes: JSON bodies, Daraja's error
-- shape, the simulator's own errors, and the canned fault answers.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")

local M = {}

--- ResponseDescription of every accepted request.
M.ACCEPTED = "Accept the service request successfully."

--- The synchronous acknowledgement of every accepted request. Daraja's
--- B2C v3 sample names the ConversationID first (conversation_first), the
--- other APIs' samples the OriginatorConversationID.
function M.ack(ocid, conversation_id, conversation_first)
  local ids = { { "OriginatorConversationID", ocid }, { "ConversationID", conversation_id } }
  if conversation_first then ids[1], ids[2] = ids[2], ids[1] end
  return M.json(200, json.object({
    ids[1], ids[2],
    { "ResponseCode", "0" },
    { "ResponseDescription", M.ACCEPTED },
  }))
end

function M.json(status, body)
  return {
    status = status,
    headers = { { "Content-Type", "application/json" } },
    body = type(body) == "string" and body or json.encode(body),
  }
end

--- Daraja's error body: requestId, errorCode, errorMessage.
function M.gateway_error(status, code, message)
  return M.json(status, json.object({
    { "requestId", util.request_id() },
    { "errorCode", code },
    { "errorMessage", message },
  }))
end

--- Daraja's answer to a request field that breaks its rule.
function M.bad_field(field)
  return M.gateway_error(400, "400.002.02", "Bad Request - Invalid " .. field)
end

--- An error of the simulator itself (control endpoints, bad fault specs).
function M.sim_error(status, message)
  return M.json(status, json.object({
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

--- The answer a fault action stands for instead of the route's, or nil for
-- the actions that change how the route's answer goes out.
function M.fault(action)
  if action == "spike" then
    return M.gateway_error(500, "500.003.02", "Error Occurred: Spike Arrest Violation")
  elseif action == "quota" then
    return M.gateway_error(500, "500.003.03", "Quota Violation")
  elseif action == "internal" then
    return M.gateway_error(500, "500.001.1001", "Internal Server Error")
  elseif action == "html403" then
    return { status = 403, headers = { { "Content-Type", "text/html; charset=utf-8" } }, body = HTML_403 }
  end
  return nil
end

return M
