-- b2c.ledger.request: a payout's request. The operation checked (one that
-- moves money and sends), the payout built with a fresh OCID into its
-- row's columns, and an attempt's fields made ready to send again.
local core = require("b2c.core")
local errors = require("b2c.errors")
local json = require("b2c.json")
local registry = require("b2c.operations")

local M = {}

-- An operation the ledger can pay through: it moves money and has send.
function M.operation(name)
  local op = registry.get(name or "b2c")
  local sends = false
  for _, verb in ipairs(op and op.verbs or {}) do sends = sends or verb == "send" end
  if not op or not op.movesMoney or not sends then
    error("ledger: operation " .. tostring(name) .. " is not a payout the ledger can send", 3)
  end
  return op
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- A copy of the caller's fields with the attempt's OCID.
function M.with_ocid(fields, ocid)
  local p = copy(fields)
  p.originatorConversationId = ocid
  return p
end

-- The payout checked and built with a fresh OCID: its row's columns
-- (`fields`: the caller's fields, without the reference) and `body`, the
-- request to send.
function M.prepare(mpesa, op, payout)
  if type(payout) ~= "table" then error("ledger: payout must be a table", 3) end
  if payout.originatorConversationId ~= nil then
    return nil, errors.validation("originatorConversationId",
      "the ledger makes each attempt's OCID; give a reference (your idempotency key) instead")
  end
  local ocid = core.uuid()
  local body, err = op.build(mpesa, payout, ocid)
  if not body then return nil, err end
  local request = copy(payout)
  request.reference = nil
  return {
    reference = payout.reference, operation = op.namespace, ocid = ocid,
    recipient = tostring(body.PartyB), amount = tonumber(body.Amount),
    request = json.encode(request), fields = request, body = body,
  }
end

return M
