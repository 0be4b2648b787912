-- The caller's fields of an operation, checked from the operation's list
-- (op.fields) before any I/O: unknown fields refused, `reference` kept
-- (never sent; money-moving operations only), every rule applied in the
-- list's order. The rules are b2c.fields', adapted to the list's form
-- rule(value, client).
--
-- op.fields: { { "name", rule, optional = true | fallback = true,
--                wire = "DarajaName" }, ... }
--   rule(value, client) -> the cleaned value | nil, the broken rule
--   optional: an absent field is left out; fallback: the rule itself
--   handles absence (a URL falls back to b2c.new's); otherwise absent is
--   "is required", with the rule's wording.
--   wire: the cleaned value is stored under Daraja's name (the hot B2C
--   path fills its request body directly; others map values themselves).
-- op.refuses: { name = "why" } for fields the caller may not give (an
-- OriginatorConversationID where Daraja makes it).
local errors = require("b2c.errors")
local fields = require("b2c.fields")

local params = {}

-- The names an operation takes, made once per operation (this runs for
-- every payout).
local known_of = setmetatable({}, { __mode = "k" })
local function known_names(op)
  local known = known_of[op]
  if not known then
    known = { reference = op.movesMoney or nil }
    for _, f in ipairs(op.fields) do known[f[1]] = true end
    known_of[op] = known
  end
  return known
end

-- values, reference | nil, err. values: a table to fill (a new one when nil).
function params.check(client, p, op, values)
  if op.refuses then
    for name, why in pairs(op.refuses) do
      if p[name] ~= nil then return nil, errors.validation(name, why) end
    end
  end
  local known = known_names(op)
  for k in pairs(p) do
    if not known[k] then
      return nil, fields.unknown_field(p, known, "mpesa." .. op.namespace .. "." .. op.verbs[1])
    end
  end
  local reference, rule = fields.reference(p.reference)
  if rule then return nil, errors.validation("reference", rule) end
  values = values or {}
  local list = op.fields
  for i = 1, #list do
    local f = list[i]
    local name = f[1]
    local v = p[name]
    if v ~= nil or f.fallback then
      local clean, why = f[2](v, client)
      if clean == nil then return nil, errors.validation(name, why) end
      values[f.wire or name] = clean
    elseif not f.optional then
      local _, why = f[2](nil, client) -- the rule's own words say what is expected
      return nil, errors.validation(name, "is required" .. (why and "; it " .. why or ""))
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

-- B2C's CommandID, BusinessPayment when not given.
function params.command(v)
  return fields.command(v == nil and "BusinessPayment" or v)
end

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

-- Remarks with a default, for queries (fallback = true).
function params.remarks_or(default)
  return function(v) return fields.text(v == nil and default or v, 2, 100) end
end

function params.result_url(v, client)
  return fields.callback_url(v, client.resultUrl, client.environment == "production")
end

function params.timeout_url(v, client)
  return fields.callback_url(v, client.queueTimeOutUrl, client.environment == "production")
end

return params
