-- The caller's fields of an operation, checked from the operation's list
-- (op.fields) before any I/O: unknown fields refused, `reference` kept
-- (never sent), every rule applied in the list's order. The rules are
-- b2c.fields', adapted to the list's form rule(value, client).
--
-- op.fields: { { "name", rule, optional = true | fallback = true }, ... }
--   rule(value, client) -> the cleaned value | nil, the broken rule
--   optional: an absent field is left out; fallback: the rule itself
--   handles absence (a URL falls back to b2c.new's); otherwise absent is
--   "is required".
-- op.refuses: { name = "why" } for fields the caller may not give (an
-- OriginatorConversationID where Daraja makes it).
local errors = require("b2c.errors")
local fields = require("b2c.fields")

local params = {}

-- values, reference | nil, err
function params.check(client, p, op)
  local what = "mpesa." .. op.namespace .. "." .. op.verbs[1]
  for name, why in pairs(op.refuses or {}) do
    if p[name] ~= nil then return nil, errors.validation(name, why) end
  end
  local known = { reference = true }
  for _, f in ipairs(op.fields) do known[f[1]] = true end
  local err = fields.unknown_field(p, known, what)
  if err then return nil, err end
  local reference, rule = fields.reference(p.reference)
  if rule then return nil, errors.validation("reference", rule) end
  local values = {}
  for _, f in ipairs(op.fields) do
    local name, v = f[1], p[f[1]]
    if v ~= nil or f.fallback then
      values[name], rule = f[2](v, client)
      if values[name] == nil then return nil, errors.validation(name, rule) end
    elseif not f.optional then
      return nil, errors.validation(name, "is required")
    end
  end
  return values, reference
end

-- Rules, as op.fields takes them.

-- Rules of b2c.fields that take the value alone.
params.phone = fields.phone
params.conversation_id = fields.conversation_id
params.receipt = fields.receipt
params.shortcode = fields.shortcode
params.account_reference = fields.account_reference

-- Within the client's minAmount..maxAmount (B2C's limits by default).
function params.client_amount(v, client)
  return fields.amount(v, client.minAmount, client.maxAmount)
end

-- Daraja publishes no limits for B2B, Top Up or Reversal: any whole
-- number of shillings from 1 (Daraja answers what it does not take).
function params.shillings(v)
  return fields.amount(v, 1, 999999999999)
end

function params.remarks(v) return fields.text(v, 2, 100) end

function params.sentence(v) return fields.text(v, 1, 100) end

function params.result_url(v, client)
  return fields.callback_url(v, client.resultUrl, client.environment == "production")
end

function params.timeout_url(v, client)
  return fields.callback_url(v, client.queueTimeOutUrl, client.environment == "production")
end

return params
