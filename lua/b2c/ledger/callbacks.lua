-- b2c.ledger.callbacks: ledger:applyResult and ledger:applyQueueTimeout.
-- Every callback body is kept (table callbacks) with its payout and what
-- it did to it (applied), so that none is lost and each can be looked at:
-- the body, the payout's move and the mark are one transaction (one
-- durable commit), the move under a savepoint so that the body is kept
-- even when applying it fails.
local failures = require("b2c.ledger.failures")
local json = require("b2c.json")
local result = require("b2c.callbacks.result")
local verdict = require("b2c.callbacks.verdict")
local view = require("b2c.ledger.view").of

local must = failures.must

local Callbacks = {}

-- Stores a callback as received; returns its row id.
function Callbacks:keep(kind, raw, ocid, cid)
  must(self.store:exec("INSERT INTO callbacks (received_at, kind, ocid, conversation_id, body) "
    .. "VALUES (?, ?, ?, ?, ?)", os.time(), kind, ocid, cid, raw))
  return self.store:last_id()
end

function Callbacks:mark(callback_id, payout_id, applied)
  must(self.store:exec("UPDATE callbacks SET payout_id = ?, applied = ? WHERE id = ?",
    payout_id, applied, callback_id))
end

local function raw_text(body)
  if type(body) == "string" then return body end
  return json.encode(body) or tostring(body)
end

-- A callback body read by parse, kept as `kind` and applied by
-- apply(cb, r) (cb: its row id), in one transaction: apply's answer | nil,
-- err. A body parse cannot read is kept as unreadable; one apply fails on
-- is kept unmarked, apply's changes undone, and its err returned.
function Callbacks:receive(kind, body, parse, apply)
  local raw = raw_text(body)
  local r, err = parse(body, self.parsing)
  if not r then
    self:keep("unreadable", raw)
    return nil, err
  end
  local answer = self:atomically(function()
    local cb = self:keep(kind, raw, r.OriginatorConversationID, r.ConversationID)
    local applied, aerr = self:tentatively(function() return { apply(self, cb, r) } end)
    return applied or { nil, aerr }
  end)
  return answer[1], answer[2]
end

-- Callback cb marked as `applied` to payout row (nil: it matches none):
-- the answer of applyResult and applyQueueTimeout.
function Callbacks:applied(cb, row, applied, v)
  if not row then
    self:mark(cb, nil, "unmatched")
    return { applied = "unmatched" }
  end
  self:mark(cb, row.id, applied)
  return { applied = applied, verdict = v, payout = view(self:row("id = ?", row.id)) }
end

local function receipt_of(r)
  local params = result.parameters_map(r)
  local receipt = params.TransactionReceipt
  if type(receipt) ~= "string" or receipt == "" then receipt = r.TransactionID end
  if type(receipt) ~= "string" or receipt == "" or receipt:match("0000000$") then return nil end
  return receipt
end

-- ledger:applyResult(body) -> { applied = ..., payout = ... } | nil, err
-- body: a payout's result or a Transaction Status result (raw JSON or decoded).
-- applied: paid | failed | not_found | pending | duplicate | conflict | unmatched.
function Callbacks:applyResult(body)
  return self:receive("result", body, result.parse, self.apply_result)
end

function Callbacks:apply_result(cb, r)
  local q = self.store:one("SELECT * FROM status_queries WHERE conversation_id = ? OR ocid = ?",
    r.ConversationID, r.OriginatorConversationID)
  if q then return self:apply_status(cb, r, q) end
  local row = r.OriginatorConversationID and self:row("ocid = ?", r.OriginatorConversationID)
  if not row and r.ConversationID then row = self:row("conversation_id = ?", r.ConversationID) end
  if not row then return self:applied(cb) end
  local applied
  if r.ok then
    applied = self:settle(row, "paid", { receipt = receipt_of(r), result_code = "0",
      result_desc = r.ResultDesc, conversation_id = not row.conversation_id and r.ConversationID
      or nil }, "a result")
  else
    applied = self:settle(row, "failed", { result_code = tostring(r.ResultCode),
      result_desc = r.ResultDesc, outcome = "failed" }, "a result")
  end
  return self:applied(cb, row, applied)
end

local VERDICT_STATE = { completed = "paid", failed = "failed", not_found = "not_found" }

-- A Transaction Status result r (kept as callback cb) for the query q.
function Callbacks:apply_status(cb, r, q)
  local row = must(self:row("id = ?", q.payout_id))
  local v, err = verdict.status_verdict(r)
  if not v then
    self:mark(cb, row.id, "unreadable")
    return nil, err
  end
  local to = VERDICT_STATE[v.verdict]
  local applied = "pending"
  if to then
    applied = self:settle(row, to, { receipt = v.receipt, result_code = tostring(v.resultCode),
      result_desc = v.reason or v.resultDesc }, "Transaction Status")
  end
  return self:applied(cb, row, applied, v.verdict)
end

-- The answer to a status query can reach a callback handler before the
-- query is recorded: it was kept unmatched, and is applied now.
function Callbacks:apply_early(payout_id, ack)
  local early = must(self.store:rows("SELECT id, body FROM callbacks WHERE applied = 'unmatched' "
    .. "AND (conversation_id = ? OR ocid = ?) ORDER BY id", ack.ConversationID,
    ack.OriginatorConversationID))
  for _, cb in ipairs(early) do
    local r = result.parse(cb.body)
    if r then
      self:atomically(function()
        return { self:apply_status(cb.id, r, { payout_id = payout_id }) }
      end)
    end
  end
end

-- ledger:applyQueueTimeout(body): the payout's outcome is unknown until queried.
function Callbacks:applyQueueTimeout(body)
  return self:receive("queue_timeout", body, result.parse_queue_timeout, self.apply_queue_timeout)
end

function Callbacks:apply_queue_timeout(cb, t)
  local row = self:row("ocid = ?", t.OriginatorConversationID)
  if not row then return self:applied(cb) end
  local applied = row.state
  for _ = 1, 5 do
    if not (row.state == "submitted" or row.state == "accepted") then break end
    if self:move(row.id, row.state, "unknown", { outcome = "ambiguous" }) then
      applied = "unknown"
      break
    end
    row = must(self:row("id = ?", row.id))
  end
  return self:applied(cb, row, applied)
end

return Callbacks
