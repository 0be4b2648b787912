-- b2c.ledger.states: the state machine's moves, as ledger methods.
--   created -> submitted -> accepted -> paid | failed
--   anything ambiguous -> unknown -> (Transaction Status) -> paid | failed | not_found
-- Every move is a compare-and-set (UPDATE ... WHERE state = old) and is
-- reported as a ledger.state event.
local failures = require("b2c.ledger.failures")
local statements = require("b2c.ledger.statements")

local must = failures.must

local States = {}

local OPEN = { created = true, submitted = true, accepted = true, unknown = true }

-- Compare-and-set: moves row id from state `from` to `to` with the other
-- columns in `set`. true when this call made the move.
function States:move(id, from, to, set)
  local cols, values = { "state = ?", "updated_at = ?" }, { to, os.time() }
  for _, k in ipairs({ "conversation_id", "receipt", "outcome", "result_code", "result_desc",
    "error", "attention", "queried_at" }) do
    if set and set[k] ~= nil then
      cols[#cols + 1] = k .. " = ?"
      values[#values + 1] = set[k]
    end
  end
  values[#values + 1] = id
  values[#values + 1] = from
  local n, err = self.store:execv("UPDATE payouts SET " .. table.concat(cols, ", ")
    .. " WHERE id = ? AND state = ?", values)
  if not n then return nil, err end
  if n == 1 then self:moved(from, to, 1, id) end
  return n == 1
end

-- The ledger.state event (b2c.events): count rows went from `from` to `to`;
-- held while a transaction of atomically() is open.
function States:moved(from, to, count, id, ocid)
  if self.emit and count > 0 then
    local event = { name = "ledger.state", from = from, to = to, count = count, id = tonumber(id),
      ocid = ocid }
    if self.held then
      self.held[#self.held + 1] = event
    else
      self.emit(event)
    end
  end
end

-- fn() as one transaction (one durable commit): the ledger.state events of
-- its moves are emitted once it is committed, none when it is rolled back.
-- -> fn's value (raises the store's err when it fails)
function States:atomically(fn)
  local held = {}
  self.held = held
  local done, err = self.store:transaction(fn)
  self.held = nil
  must(done, err)
  if self.emit then
    for _, event in ipairs(held) do self.emit(event) end
  end
  return done
end

-- fn() inside atomically(), under a savepoint: undone, with its events,
-- when it returns nil, err or raises (the transaction goes on).
-- -> fn's values | nil, err
function States:tentatively(fn)
  local held = self.held
  local before = #held
  local a, b = self.store:savepoint(fn)
  if a == nil then
    for i = #held, before + 1, -1 do held[i] = nil end
  end
  return a, b
end

-- The outcome of the send of OCID `ocid`, recorded by compare-and-set from
-- submitted. A callback that came first has already moved the row: then
-- only its ConversationID is filled in.
function States:record(ocid, ack, err)
  if not ack then
    local st = statements.failure(ocid, err)
    local n, ferr = self.store:execv(st[1], st[2], st[3])
    if n == 1 then self:moved("submitted", st[2][1], 1, nil, ocid) end
    return n, ferr
  end
  local n, aerr = self.store:exec("UPDATE payouts SET state = 'accepted', outcome = 'accepted', "
    .. "conversation_id = ?, updated_at = ? WHERE ocid = ? AND state = 'submitted'",
    ack.ConversationID, os.time(), ocid)
  if n ~= 0 then
    if n == 1 then self:moved("submitted", "accepted", 1, nil, ocid) end
    return n, aerr
  end
  return self.store:exec("UPDATE payouts SET conversation_id = ? WHERE ocid = ? "
    .. "AND conversation_id IS NULL", ack.ConversationID, ocid)
end

-- Moves an open row to a final state; a row already final in the same
-- state is a duplicate; in another, the conflict is flagged for a person.
-- Inside atomically(). -> to | "duplicate" | "conflict"
function States:settle(row, to, set, source)
  for _ = 1, 5 do
    if OPEN[row.state] then
      -- a move the database refuses is undone alone: the flag is still written
      local moved, err = self:tentatively(function() return self:move(row.id, row.state, to, set) end)
      if moved == nil then
        -- e.g. the receipt is already another payout's: a person must look.
        self:flag(row, source .. " could not be applied: " .. tostring(err))
        return "conflict"
      end
      if moved then return to end
    elseif row.state == to and (set.receipt == nil or set.receipt == row.receipt) then
      return "duplicate"
    else
      self:flag(row, string.format("%s says %s after the payout was %s", source, to, row.state))
      return "conflict"
    end
    row = must(self:row("id = ?", row.id))
  end
  return "conflict"
end

-- Adds `why` to the row's attention: a person must look at it.
function States:flag(row, why)
  self.store:exec("UPDATE payouts SET attention = coalesce(attention || '; ', '') || ?, "
    .. "updated_at = ? WHERE id = ?", why, os.time(), row.id)
end

return States
