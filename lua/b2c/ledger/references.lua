-- b2c.ledger.references: idempotency, as ledger methods. A payout's
-- reference (the caller's idempotency key) is one payout: paying it again
-- finds its row (its newest attempt) instead of sending again, and a
-- reference used for a different payout is refused.
local errors = require("b2c.errors")
local request = require("b2c.ledger.request")

local References = {}

-- first (the row holding p's reference) when it is the same payout as p:
-- its newest attempt; otherwise nil, err.
function References:same_payout(first, p)
  if first.operation ~= p.operation or first.recipient ~= p.recipient
    or tonumber(first.amount) ~= p.amount then
    return nil, errors.validation("reference", string.format("%q is already used for another "
      .. "payout (%s of %s to %s, id %s); nothing was sent", p.reference, first.operation,
      tostring(first.amount), first.recipient, tostring(first.id)))
  end
  return self:latest(first.id)
end

-- An existing payout under this reference: the newest attempt, false when
-- there is none, or nil, err when the reference names a different payout.
function References:by_reference(p)
  local first, err = self:row("reference = ?", p.reference)
  if first == nil then return nil, err end
  if not first then return false end
  return self:same_payout(first, p)
end

-- The payout checked and built (its row's columns, a fresh OCID), and the
-- row its reference already has (false: none, a new payout) | nil, err.
function References:claim(mpesa, payout, options)
  local op = request.operation(options and options.operation)
  local p, err = request.prepare(mpesa, op, payout)
  if not p then return nil, err end
  if not p.reference then return p, false end
  local row, rerr = self:by_reference(p)
  if row == nil then return nil, rerr end
  return p, row
end

-- A new payout stored straight as submitted, one commit before it leaves:
-- true; or the row another worker stored under its reference just now.
function References:store_new(p)
  if self:insert_submitted({ p })[p.ocid] then
    self:moved(nil, "submitted", 1, nil, p.ocid)
    return true
  end
  return self:by_reference(p)
end

return References
