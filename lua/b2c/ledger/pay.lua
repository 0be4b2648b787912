-- b2c.ledger.pay: ledger:pay, ledger:start (its polled form) and
-- ledger:send share one path. take: the payout's row claimed and committed
-- as submitted before anything leaves; finish: the send's outcome recorded.
local errors = require("b2c.errors")
local json = require("b2c.json")
local request = require("b2c.ledger.request")
local view = require("b2c.ledger.view").of

local Pay = {}

-- What paying a payout takes, the same for pay and start: { payout = view }
-- when nothing is to be sent (its reference's row is past created, or
-- another worker took it), else the attempt to send, its row committed as
-- submitted: { ocid =, operation =, fields = } | nil, err.
function Pay:take(mpesa, payout, options)
  local p, row = self:claim(mpesa, payout, options)
  if not p then return nil, row end
  if not row then
    local err
    row, err = self:store_new(p)
    if not row then return nil, err end
    if row == true then return { ocid = p.ocid, operation = p.operation, fields = p.fields } end
  end
  return self:take_row(row)
end

-- A created row moved to submitted (compare-and-set): its attempt; any
-- other row, or one another worker moved first: its view.
function Pay:take_row(row)
  if row.state ~= "created" then return { payout = view(row) } end
  local moved, err = self:move(row.id, "created", "submitted")
  if moved == nil then return nil, err end
  if not moved then return { payout = view(self:row("id = ?", row.id)) } end
  return { ocid = row.ocid, operation = row.operation, fields = json.decode(row.request) }
end

-- The caller's fields of attempt a with its OCID, and its namespace.
local function request_of(a)
  return request.with_ocid(a.fields, a.ocid), request.operation(a.operation).namespace
end

-- The outcome of attempt `ocid`'s send recorded: payout, err of the send | nil, err.
function Pay:finish(ocid, ack, serr)
  local ok, rerr = self:record(ocid, ack, serr)
  if ok == nil then return nil, rerr end
  return view(self:row("ocid = ?", ocid)), serr
end

-- Sends attempt a (from take) and records its outcome.
function Pay:send_attempt(mpesa, a)
  if a.payout then return a.payout end
  local p, namespace = request_of(a)
  local ack, serr = mpesa[namespace].send(p)
  return self:finish(a.ocid, ack, serr)
end

-- ledger:pay(mpesa, payout[, {operation = "b2pochi"}]) -> payout[, err of the send] | nil, err
function Pay:pay(mpesa, payout, options)
  if type(payout) ~= "table" then error("ledger: payout must be a table", 2) end
  local a, err = self:take(mpesa, payout, options)
  if not a then return nil, err end
  return self:send_attempt(mpesa, a)
end

-- The game-loop form of pay: the row is committed as submitted before
-- start returns; the request itself is driven by mpesa:step like any
-- polled payout; handle:result() records its outcome.
local Pending = {}
Pending.__index = function(h, k)
  if k == "done" then return h.payout ~= nil or h.send.done end
  return Pending[k]
end

-- handle:result() -> payout[, err of the send] | nil, err (of the ledger);
-- raises when called before handle.done.
function Pending:result()
  if self.payout then return self.payout, self.err end
  if not self.send.done then error("ledger: result() before the payout is done", 2) end
  local ack, serr = self.send:result()
  local payout, err = self.book:finish(self.originatorConversationId, ack, serr)
  if not payout then return nil, err end
  self.payout, self.err = payout, err
  return payout, err
end

-- ledger:start(mpesa, payout[, options]) -> handle | nil, err. A payout its
-- reference already has (or one another worker is sending) is done at once.
function Pay:start(mpesa, payout, options)
  if type(payout) ~= "table" then error("ledger: payout must be a table", 2) end
  local a, err = self:take(mpesa, payout, options)
  if not a then return nil, err end
  local h = setmetatable({ book = self }, Pending)
  if a.payout then
    h.originatorConversationId, h.payout = a.payout.originatorConversationId, a.payout
    return h
  end
  h.originatorConversationId = a.ocid
  local p, namespace = request_of(a)
  local send, serr = mpesa[namespace].start(p)
  if send then
    h.send = send
    return h
  end
  -- refused before anything left (validation, closed client): recorded
  h.payout, h.err = self:finish(a.ocid, nil, serr)
  if not h.payout then return nil, h.err end
  return h
end

-- ledger:send(mpesa, id): sends a created attempt (after retry, or one
-- left created by a crash or an unsent outcome: it never left).
function Pay:send(mpesa, id)
  local row, err = self:row("id = ?", id)
  if not row then return nil, err or errors.validation("id", "no payout " .. tostring(id)) end
  local a, terr = self:take_row(row)
  if not a then return nil, terr end
  return self:send_attempt(mpesa, a)
end

return Pay
