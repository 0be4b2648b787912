-- b2c.ledger.reconcile: ledger:reconcile. Payouts whose outcome is unknown
-- are asked about (Transaction Status), each leased to one worker while it
-- asks; the answers arrive as callbacks (b2c.ledger.callbacks).
local errors = require("b2c.errors")
local failures = require("b2c.ledger.failures")

local must = failures.must

local Reconcile = {}

-- Each reconcile option: the least it may be.
local MINIMUM = { delay = 0, overdue = 0, requery = 0, lease = 1, limit = 1 }

-- ledger:reconcile(mpesa, options) -> report | nil, err
-- options: delay (seconds a payout rests before its first query: one in
-- flight can read as not found; default 60), overdue (seconds an accepted or
-- submitted payout may wait for its result; default 300), requery (seconds
-- between queries of one payout; default 300), limit (default 100), lease
-- (seconds a worker holds a payout while it asks about it; default 120),
-- resultUrl / queueTimeOutUrl (where Transaction Status answers).
function Reconcile:reconcile(mpesa, options)
  local o = options or {}
  for name, least in pairs(MINIMUM) do
    local v = o[name]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v < least or v == math.huge) then
      return nil, errors.validation(name, string.format("must be a number of %s from %d",
        name == "limit" and "payouts" or "seconds", least))
    end
  end
  local t = os.time()
  local marked = must(self.store:exec("UPDATE payouts SET state = 'unknown', updated_at = ? "
    .. "WHERE state IN ('submitted', 'accepted') AND updated_at <= ?", t, t - (o.overdue or 300)))
  self:moved("submitted|accepted", "unknown", marked)
  local report = { markedUnknown = marked, queried = 0, errors = {} }
  local after = 0 -- a round asks about each payout once, in id order
  for _ = 1, o.limit or 100 do
    local row = self:lease(t, after, o)
    if not row then break end
    after = tonumber(row.id)
    local ack, err = mpesa.transactionStatus.query({ originatorConversationId = row.ocid,
      resultUrl = o.resultUrl, queueTimeOutUrl = o.queueTimeOutUrl })
    if ack then
      must(self.store:transaction(function()
        must(self.store:exec("INSERT INTO status_queries (payout_id, conversation_id, ocid, asked_at) "
          .. "VALUES (?, ?, ?, ?)", row.id, ack.ConversationID, ack.OriginatorConversationID, t))
        -- the lease is released unless it expired and another worker holds it now
        return must(self.store:exec("UPDATE payouts SET queried_at = ?, queries = queries + 1, "
          .. "lease_until = CASE WHEN lease_owner = ? THEN NULL ELSE lease_until END, "
          .. "lease_owner = CASE WHEN lease_owner = ? THEN NULL ELSE lease_owner END WHERE id = ?",
          t, self.owner, self.owner, row.id))
      end))
      report.queried = report.queried + 1
      self:apply_early(row.id, ack)
    else
      -- not asked: the payout is free for the next round
      must(self.store:exec("UPDATE payouts SET lease_owner = NULL, lease_until = NULL "
        .. "WHERE id = ? AND lease_owner = ?", row.id, self.owner))
      report.errors[#report.errors + 1] = { id = tonumber(row.id), err = err }
    end
  end
  return report
end

-- The next payout after id `after` due for a status query, leased to this
-- ledger for `lease` seconds: no other worker asks about it meanwhile (PostgreSQL
-- passes over rows another worker is leasing: FOR UPDATE SKIP LOCKED). A
-- lease left by a worker that died expires and the payout is due again.
-- The row | false when none is due.
function Reconcile:lease(t, after, o)
  return must(self.store:transaction(function()
    local row = must(self.store:one("SELECT * FROM payouts WHERE id > ? AND state = 'unknown' "
      .. "AND updated_at <= ? AND (queried_at IS NULL OR queried_at <= ?) "
      .. "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id LIMIT 1" .. self.store.skip_locked,
      after, t - (o.delay or 60), t - (o.requery or 300), os.time()))
    if row then
      must(self.store:exec("UPDATE payouts SET lease_owner = ?, lease_until = ? WHERE id = ?",
        self.owner, os.time() + (o.lease or 120), row.id))
    end
    return row
  end))
end

return Reconcile
