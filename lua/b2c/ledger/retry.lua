-- b2c.ledger.retry: ledger:retry, a new attempt (a new OCID, linked to the
-- first) of a payout M-Pesa said failed or not found; one per attempt.
local core = require("b2c.core")
local errors = require("b2c.errors")
local failures = require("b2c.ledger.failures")
local view = require("b2c.ledger.view").of

local must = failures.must

local Retry = {}

-- ledger:retry(id) -> the new attempt (created; send it with ledger:send)
function Retry:retry(id)
  return self.store:transaction(function()
    local row = self:row("id = ?", id)
    if not row then return nil, errors.validation("id", "no payout " .. tostring(id)) end
    if row.state ~= "failed" and row.state ~= "not_found" then
      return nil, errors.validation("id", string.format("payout %s is %s: a new attempt only "
        .. "once M-Pesa said failed or not_found", tostring(id), row.state))
    end
    local newer = self.store:one("SELECT id FROM payouts WHERE previous_id = ?", row.id)
    if newer then
      return nil, errors.validation("id", string.format("payout %s was already retried as %s",
        tostring(id), tostring(newer.id)))
    end
    local new = must(self:insert({ operation = row.operation, ocid = core.uuid(),
      recipient = row.recipient, amount = tonumber(row.amount), request = row.request },
      { root_id = row.root_id or row.id, previous_id = row.id }))
    return view(self:row("id = ?", new))
  end)
end

return Retry
