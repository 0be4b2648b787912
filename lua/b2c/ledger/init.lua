-- b2c.ledger: a durable record of every payout and the state machine that
-- drives each one to a final state.
--   created -> submitted -> accepted -> paid | failed
--   anything ambiguous -> unknown -> (Transaction Status) -> paid | failed | not_found
-- Every transition is a compare-and-set (UPDATE ... WHERE state = old). A
-- row is committed before its payout leaves; one OCID is sent at most once;
-- a new attempt (new OCID, linked to the first) only after failed or not_found.
local core = require("b2c.core")
local errors = require("b2c.errors")
local events = require("b2c.events")
local json = require("b2c.json")
local outcome = require("b2c.outcome")
local registry = require("b2c.operations")
local result = require("b2c.callbacks.result")
local verdict = require("b2c.callbacks.verdict")

local ledger = {}

local Ledger = {}
Ledger.__index = Ledger

local OPEN = { created = true, submitted = true, accepted = true, unknown = true }
local FINAL = { paid = true, failed = true, not_found = true }

local function now() return os.time() end

-- A store failure inside a method: raised as a marked table and returned
-- as nil, err by the public method (guarded, below); misuse still raises.
local Failure = {}
local function must(v, err)
  if v == nil then error(setmetatable({ err = err }, Failure), 0) end
  return v
end

local function finish(ok, ...)
  if ok then return ... end
  local e = ...
  if getmetatable(e) == Failure then return nil, e.err end
  error(e, 0)
end

local function guarded(fn)
  return function(...) return finish(pcall(fn, ...)) end
end

-- The columns view() reads (not the request body).
local VIEW_COLUMNS = "id, reference, operation, ocid, conversation_id, receipt, recipient, amount, "
  .. "state, outcome, result_code, result_desc, error, attention, root_id, previous_id, created_at, "
  .. "updated_at, queries, lease_owner, lease_until"

-- A row as the caller sees it.
local function view(row)
  if not row then return nil end
  return {
    id = tonumber(row.id), reference = row.reference, operation = row.operation,
    originatorConversationId = row.ocid, conversationId = row.conversation_id,
    receipt = row.receipt, recipient = row.recipient, amount = tonumber(row.amount),
    state = row.state, outcome = row.outcome, resultCode = row.result_code,
    resultDesc = row.result_desc, error = row.error, attention = row.attention,
    firstId = tonumber(row.root_id or row.id), previousId = tonumber(row.previous_id),
    createdAt = tonumber(row.created_at), updatedAt = tonumber(row.updated_at),
    queries = tonumber(row.queries), leaseOwner = row.lease_owner,
    leaseUntil = tonumber(row.lease_until),
  }
end

function Ledger:row(where, ...)
  return self.store:one("SELECT * FROM payouts WHERE " .. where, ...)
end

-- The newest attempt of the payout whose first attempt is `first`.
function Ledger:latest(first)
  return self.store:one("SELECT * FROM payouts WHERE id = ? OR root_id = ? ORDER BY id DESC LIMIT 1",
    first, first)
end

-- Compare-and-set: moves row id from state `from` to `to` with the other
-- columns in `set`. true when this call made the move.
function Ledger:move(id, from, to, set)
  local cols, values = { "state = ?", "updated_at = ?" }, { to, now() }
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

-- The ledger.state event (b2c.events): count rows went from `from` to `to`.
function Ledger:moved(from, to, count, id, ocid)
  if self.emit and count > 0 then
    self.emit({ name = "ledger.state", from = from, to = to, count = count, id = tonumber(id),
      ocid = ocid })
  end
end

-- An operation the ledger can pay through: it moves money and has send.
local function money_op(name)
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

-- The payout checked and built with a fresh OCID: its row's columns.
local function prepare(mpesa, op, payout)
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
    request = json.encode(request), fields = request,
  }
end

function Ledger:insert(p, extra)
  extra = extra or {}
  local t = now()
  local n, err = self.store:exec("INSERT INTO payouts (reference, root_id, previous_id, operation, "
    .. "ocid, recipient, amount, request, state, created_at, updated_at) VALUES "
    .. "(?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)", p.reference, extra.root_id, extra.previous_id,
    p.operation, p.ocid, p.recipient, p.amount, p.request, t, t)
  if not n then return nil, err end
  local id = self.store:last_id()
  self:moved(nil, "created", 1, id, p.ocid)
  return id
end

local CHUNK = 200

local function marks(n)
  return string.rep("?, ", n - 1) .. "?"
end


-- The rows already holding some of these references, by reference.
function Ledger:by_references(refs)
  local found = {}
  for first = 1, #refs, CHUNK do
    local part = {}
    for i = first, math.min(#refs, first + CHUNK - 1) do part[#part + 1] = refs[i] end
    for _, r in ipairs(must(self.store:rowsv("SELECT * FROM payouts WHERE reference IN ("
      .. marks(#part) .. ")", part, #part))) do
      found[r.reference] = r
    end
  end
  return found
end

-- Statements ({ sql, values, n }) the ledger runs alone or several in one
-- transaction (store:script).

-- New payouts (prepared, each with its OCID) stored straight as submitted;
-- a reference another worker stored meanwhile is left out.
local function insert_statement(list)
  local values, n, t = {}, 0, now()
  for _, p in ipairs(list) do
    for _, v in ipairs({ p.reference or false, p.operation, p.ocid, p.recipient, p.amount,
      p.request, t, t }) do
      n = n + 1
      values[n] = v or nil
    end
  end
  return { "INSERT INTO payouts (reference, operation, ocid, recipient, amount, request, state, "
    .. "created_at, updated_at) VALUES " .. string.rep("(?, ?, ?, ?, ?, ?, 'submitted', ?, ?), ", #list - 1)
    .. "(?, ?, ?, ?, ?, ?, 'submitted', ?, ?) ON CONFLICT (reference) DO NOTHING", values, n }
end

-- Which of these OCIDs have a row: "n", their count.
local function count_statement(ocids)
  return { "SELECT count(*) AS n FROM payouts WHERE ocid IN (" .. marks(#ocids) .. ")", ocids, #ocids }
end

-- A send that failed: submitted -> unknown (ambiguous) or failed.
-- Where a send's error leaves its row: ambiguous -> unknown (reconcile
-- it); unsent -> created again (it never left: paying the reference again,
-- or the batch again, sends it); otherwise failed.
local function state_after(err)
  local class = outcome.of(err)
  if class == "ambiguous" then return "unknown", class end
  if class == "unsent" then return "created", class end
  return "failed", class
end

local function failure_statement(ocid, err)
  local state, class = state_after(err)
  return { "UPDATE payouts SET state = ?, outcome = ?, error = ?, result_code = ?, updated_at = ? "
    .. "WHERE ocid = ? AND state = 'submitted'", { state,
    class, tostring(err), err.code and tostring(err.code) or nil, now(), ocid }, 6 }
end

-- Acknowledgements ({ ocid, ack } each): submitted -> accepted, a
-- compare-and-set per row; a row a callback already moved keeps its state
-- and gets only its ConversationID.
local function acks_statement(acks)
  local n = #acks
  local cases, values = {}, {}
  for k, a in ipairs(acks) do
    cases[k] = "WHEN ? THEN ?"
    values[2 * k - 1], values[2 * k] = a[1], a[2].ConversationID
    values[2 * n + 1 + k] = a[1]
  end
  values[2 * n + 1] = now()
  return { "UPDATE payouts SET conversation_id = coalesce(conversation_id, CASE ocid "
    .. table.concat(cases, " ") .. " END), "
    .. "updated_at = CASE WHEN state = 'submitted' THEN ? ELSE updated_at END, "
    .. "outcome = CASE WHEN state = 'submitted' THEN 'accepted' ELSE outcome END, "
    .. "state = CASE WHEN state = 'submitted' THEN 'accepted' ELSE state END "
    .. "WHERE ocid IN (" .. marks(n) .. ")", values, 3 * n + 1 }
end

-- New payouts stored straight as submitted, after `before` (statements), in
-- one transaction. -> { [ocid] = true } for the rows this call stored.
function Ledger:insert_submitted(list, before)
  local ocids = {}
  for k, p in ipairs(list) do ocids[k] = p.ocid end
  local stored
  if self.store.multi_statement then
    local statements = {}
    for k, st in ipairs(before or {}) do statements[k] = st end
    statements[#statements + 1] = insert_statement(list)
    statements[#statements + 1] = count_statement(ocids)
    stored = tonumber(must(self.store:script(statements))[1].n)
  else
    stored = must(self.store:transaction(function()
      for _, st in ipairs(before or {}) do must(self.store:execv(st[1], st[2], st[3])) end
      local insert = insert_statement(list)
      return must(self.store:execv(insert[1], insert[2], insert[3]))
    end))
  end
  local mine = {}
  if stored == #list then
    for _, ocid in ipairs(ocids) do mine[ocid] = true end
  else
    for _, r in ipairs(must(self.store:rowsv("SELECT ocid FROM payouts WHERE ocid IN ("
      .. marks(#ocids) .. ")", ocids, #ocids))) do
      mine[r.ocid] = true
    end
  end
  return mine
end

-- An existing payout under this reference: the newest attempt, or an
-- error when the reference names a different payout.
function Ledger:by_reference(p)
  local first, err = self:row("reference = ?", p.reference)
  if first == nil then return nil, err end
  if not first then return false end
  return self:same_payout(first, p)
end

-- first (the row holding p's reference) when it is the same payout as p:
-- its newest attempt; otherwise nil, err.
function Ledger:same_payout(first, p)
  if first.operation ~= p.operation or first.recipient ~= p.recipient
    or tonumber(first.amount) ~= p.amount then
    return nil, errors.validation("reference", string.format("%q is already used for another "
      .. "payout (%s of %s to %s, id %s); nothing was sent", p.reference, first.operation,
      tostring(first.amount), first.recipient, tostring(first.id)))
  end
  return self:latest(first.id)
end

-- The outcome of the send of OCID `ocid`, recorded by compare-and-set from
-- submitted. A callback that came first has already moved the row: then
-- only its ConversationID is filled in.
function Ledger:record(ocid, ack, err)
  if not ack then
    local st = failure_statement(ocid, err)
    local n, ferr = self.store:execv(st[1], st[2], st[3])
    if n == 1 then self:moved("submitted", st[2][1], 1, nil, ocid) end
    return n, ferr
  end
  local n, aerr = self.store:exec("UPDATE payouts SET state = 'accepted', outcome = 'accepted', "
    .. "conversation_id = ?, updated_at = ? WHERE ocid = ? AND state = 'submitted'",
    ack.ConversationID, now(), ocid)
  if n ~= 0 then
    if n == 1 then self:moved("submitted", "accepted", 1, nil, ocid) end
    return n, aerr
  end
  return self.store:exec("UPDATE payouts SET conversation_id = ? WHERE ocid = ? "
    .. "AND conversation_id IS NULL", ack.ConversationID, ocid)
end

-- The payout checked and built (its row's columns, a fresh OCID), and the
-- row its reference already has (false: none, a new payout) | nil, err.
function Ledger:claim(mpesa, payout, options)
  local op = money_op(options and options.operation)
  local p, err = prepare(mpesa, op, payout)
  if not p then return nil, err end
  if not p.reference then return p, false end
  local row, rerr = self:by_reference(p)
  if row == nil then return nil, rerr end
  return p, row
end

-- A new payout stored straight as submitted, one commit before it leaves:
-- true; or the row another worker stored under its reference just now.
function Ledger:store_new(p)
  if self:insert_submitted({ p })[p.ocid] then
    self:moved(nil, "submitted", 1, nil, p.ocid)
    return true
  end
  return self:by_reference(p)
end

-- What paying a payout takes, the same for pay and start: { payout = view }
-- when nothing is to be sent (its reference's row is past created, or
-- another worker took it), else the attempt to send, its row committed as
-- submitted: { ocid =, operation =, fields = } | nil, err.
function Ledger:take(mpesa, payout, options)
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
function Ledger:take_row(row)
  if row.state ~= "created" then return { payout = view(row) } end
  local moved, err = self:move(row.id, "created", "submitted")
  if moved == nil then return nil, err end
  if not moved then return { payout = view(self:row("id = ?", row.id)) } end
  return { ocid = row.ocid, operation = row.operation, fields = json.decode(row.request) }
end

-- The caller's fields of attempt a with its OCID, and its namespace.
local function request_of(a)
  local p = copy(a.fields)
  p.originatorConversationId = a.ocid
  return p, money_op(a.operation).namespace
end

-- The outcome of attempt `ocid`'s send recorded: payout, err of the send | nil, err.
function Ledger:finish(ocid, ack, serr)
  local ok, rerr = self:record(ocid, ack, serr)
  if ok == nil then return nil, rerr end
  return view(self:row("ocid = ?", ocid)), serr
end

-- Sends attempt a (from take) and records its outcome.
function Ledger:send_attempt(mpesa, a)
  if a.payout then return a.payout end
  local p, namespace = request_of(a)
  local ack, serr = mpesa[namespace].send(p)
  return self:finish(a.ocid, ack, serr)
end

-- ledger:pay(mpesa, payout[, {operation = "b2pochi"}]) -> payout[, err of the send] | nil, err
function Ledger:pay(mpesa, payout, options)
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
function Ledger:start(mpesa, payout, options)
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
function Ledger:send(mpesa, id)
  local row, err = self:row("id = ?", id)
  if not row then return nil, err or errors.validation("id", "no payout " .. tostring(id)) end
  local a, terr = self:take_row(row)
  if not a then return nil, terr end
  return self:send_attempt(mpesa, a)
end

-- One payBatch's bookkeeping. entries[k]: what send[k] pays, a row already
-- in the ledger (created) or a new payout (`new`: its prepared columns);
-- marked[k]: "mine" once its row is committed as submitted by this batch,
-- "taken" when another worker has it; `pending`: outcomes not yet written;
-- `failure`: the store's error once a write failed (the batch then stops).
local Run = {}
Run.__index = Run

-- The pending outcomes as statements, and how many they write.
function Run:outcomes()
  local statements, acks = {}, {}
  for _, r in ipairs(self.pending) do
    if r[2] then acks[#acks + 1] = r else statements[#statements + 1] = failure_statement(r[1], r[3]) end
  end
  if #acks > 0 then statements[#statements + 1] = acks_statement(acks) end
  return statements, #self.pending
end

-- The first n pending outcomes are written: reported as ledger.state
-- events, one per new state, counting the outcomes written.
function Run:written(n)
  local to = {}
  for i = 1, n do
    local r = self.pending[i]
    local state = r[2] and "accepted" or state_after(r[3])
    to[state] = (to[state] or 0) + 1
  end
  for _, state in ipairs({ "accepted", "unknown", "created", "failed" }) do
    if to[state] then self.book:moved("submitted", state, to[state]) end
  end
  local rest = {}
  for i = n + 1, #self.pending do rest[#rest + 1] = self.pending[i] end
  self.pending = rest
end

-- Writes the pending outcomes, then fn(), in one transaction.
function Run:write(fn)
  local statements, n = self:outcomes()
  if n == 0 and not fn then return true end
  local ok, err = self.book.store:transaction(function()
    for _, st in ipairs(statements) do must(self.book.store:execv(st[1], st[2], st[3])) end
    if fn then return fn() end
    return true
  end)
  if ok then self:written(n) end
  return ok, err
end

-- A write failed: these payouts are not marked, and the batch stops (raised
-- as text: sendBatch reports a hook's error by its text).
function Run:fail(err, ...)
  for _, list in ipairs({ ... }) do
    for _, j in ipairs(list) do self.marked[j] = nil end
  end
  self.failure = err
  error(tostring(err), 0)
end

-- Commits send[first..last] as submitted before the first of them leaves.
-- New payouts are inserted straight as submitted, with the outcomes so far,
-- in one transaction (one round trip on PostgreSQL). Rows left created by
-- an earlier batch are moved by compare-and-set; when another worker took
-- some of those, that is rolled back and done row by row.
function Run:mark(first, last)
  local book, entries, marked = self.book, self.entries, self.marked
  local fresh, old = {}, {}
  for j = first, last do
    if not marked[j] then
      if entries[j].new then fresh[#fresh + 1] = j else old[#old + 1] = j end
    end
  end
  if #fresh > 0 then
    local list = {}
    for k, j in ipairs(fresh) do list[k] = entries[j].new end
    local statements, n = self:outcomes()
    local ok, mine = pcall(book.insert_submitted, book, list, statements)
    if not ok then
      if getmetatable(mine) ~= Failure then error(mine, 0) end
      self:fail(mine.err, fresh)
    end
    self:written(n)
    local stored = 0
    for _, j in ipairs(fresh) do
      marked[j] = mine[entries[j].ocid] and "mine" or "taken"
      if mine[entries[j].ocid] then stored = stored + 1 end
    end
    book:moved(nil, "submitted", stored)
  end
  if #old == 0 then return end
  local ids = {}
  for k, j in ipairs(old) do ids[k] = string.format("%d", entries[j].id) end
  local done, err = self:write(function()
    -- `state || ''`: found by primary key, not by the state index (SQLite
    -- would otherwise walk every created row for each group)
    local n = must(book.store:exec("UPDATE payouts SET state = 'submitted', updated_at = ? "
      .. "WHERE id IN (" .. table.concat(ids, ",") .. ") AND state || '' = 'created'", now()))
    if n ~= #ids then return nil, "partial" end
    for _, j in ipairs(old) do marked[j] = "mine" end
    return true
  end)
  if done then book:moved("created", "submitted", #ids) end
  if err == "partial" then
    done, err = self:write(function()
      for _, j in ipairs(old) do
        marked[j] = must(book:move(entries[j].id, "created", "submitted")) and "mine" or "taken"
      end
      return true
    end)
  end
  if not done then self:fail(err, old) end
end

-- ledger:payBatch(mpesa, payouts, options) -> report | nil, err
-- Every payout is checked, and its reference against the ledger, before
-- anything leaves. Each payout's row is committed as submitted before it
-- leaves: a group of `concurrency` rows per commit, which also writes the
-- outcomes so far. A payout that never left has no row, or (from an
-- earlier batch) a created one. When the database fails the batch stops:
-- nil, err (kind "ledger", err.cause, err.report); nothing leaves after that.
function Ledger:payBatch(mpesa, payouts, options)
  if type(payouts) ~= "table" then error("ledger: payouts must be a list of tables", 2) end
  options = options or {}
  local op = money_op(options.operation)
  local prepared = {}
  for i, payout in ipairs(payouts) do
    local p, err = prepare(mpesa, op, payout)
    if not p then
      err.index = i
      err.message = "payouts[" .. i .. "]: " .. err.message .. "; nothing was sent"
      return nil, err
    end
    prepared[i] = p
  end
  -- One reference twice in one list is one payout (an error if they differ).
  local first_of, refs = {}, {}
  for i, p in ipairs(prepared) do
    local j = p.reference and first_of[p.reference]
    if j then
      local q = prepared[j]
      if q.recipient ~= p.recipient or q.amount ~= p.amount then
        return nil, errors.validation("reference", string.format("payouts[%d] and payouts[%d] "
          .. "share the reference %q but differ; nothing was sent", j, i, p.reference))
      end
      p.same_as = j
    elseif p.reference then
      first_of[p.reference] = i
      refs[#refs + 1] = p.reference
    end
  end
  -- A reference already in the ledger is that payout (its newest attempt).
  local existing = self:by_references(refs)
  local entries = {}
  for i, p in ipairs(prepared) do
    if p.same_as then
      entries[i] = entries[p.same_as]
    elseif p.reference and existing[p.reference] then
      local row, err = self:same_payout(existing[p.reference], p)
      if not row then return nil, err end
      entries[i] = row
    else
      entries[i] = { new = p, ocid = p.ocid, state = "created" }
    end
  end

  local send, queued = {}, {}
  local run = setmetatable({ book = self, entries = {}, pending = {}, marked = {}, seen = {} }, Run)
  for _, e in ipairs(entries) do
    if e.state == "created" and not queued[e] then
      queued[e] = true
      local p = e.new and copy(e.new.fields) or json.decode(e.request)
      p.originatorConversationId = e.ocid
      send[#send + 1] = p
      run.entries[#send] = e
    end
  end
  local group_size = math.max(1, math.floor(tonumber(options.concurrency) or 16))
  local report, berr = mpesa[op.namespace].sendBatch(send, {
    concurrency = options.concurrency, tps = options.tps, progress = options.progress,
    maxSpikeRetries = options.maxSpikeRetries,
    onSubmit = function(k)
      if not run.marked[k] then run:mark(k, math.min(#send, k + group_size - 1)) end
      if run.marked[k] ~= "mine" then
        error("payout " .. tostring(run.entries[k].ocid) .. " was submitted elsewhere", 0)
      end
    end,
    onResult = function(k, ack, serr)
      run.seen[k] = true
      if serr and serr.kind == "hook" then return end -- never left
      run.pending[#run.pending + 1] = { run.entries[k].ocid, ack, serr }
    end,
  })
  -- After a hook raised, sendBatch calls no hook: the outcomes it reports
  -- of payouts this batch had marked (sent or not) are recorded here.
  local rep = report or (berr and berr.report)
  for k, r in pairs(rep and rep.results or {}) do
    if not run.seen[k] and run.marked[k] == "mine" then
      run.pending[#run.pending + 1] = { run.entries[k].ocid, r.ack, r.err }
    end
  end
  -- written now, even after a failed write: a full disk may still take them
  local written, werr = run:write()
  local failure = run.failure or (not written and werr)
  if failure then
    local cause = tostring(failure.message or failure):gsub("^ledger: ", "")
    return nil, errors.new("ledger", string.format("ledger: the database failed during the batch "
      .. "(%s); the batch stopped, nothing more was sent: %d payouts had left, each after its row "
      .. "was committed as submitted (outcomes in err.report; rows whose outcome could not be "
      .. "written stay submitted: reconcile them), %d never left", cause,
      rep and rep.total - rep.unsent - rep.invalid or 0, rep and rep.unsent or #send),
      { report = rep, cause = cause })
  end
  if not report then return nil, berr end
  report.payouts = self:views(entries)
  return report
end

-- The current view of each entry of a list (rows or new payouts, each with
-- its OCID), read in chunks.
function Ledger:views(entries)
  local out, by_ocid = {}, {}
  for first = 1, #entries, CHUNK do
    local ocids = {}
    for i = first, math.min(#entries, first + CHUNK - 1) do ocids[#ocids + 1] = entries[i].ocid end
    for _, r in ipairs(must(self.store:rowsv("SELECT " .. VIEW_COLUMNS .. " FROM payouts WHERE ocid IN ("
      .. marks(#ocids) .. ")", ocids, #ocids))) do
      by_ocid[r.ocid] = r
    end
  end
  for i, e in ipairs(entries) do out[i] = view(by_ocid[e.ocid]) end
  return out
end

-- Stores a callback as received; returns its row id.
function Ledger:keep(kind, raw, ocid, cid)
  must(self.store:exec("INSERT INTO callbacks (received_at, kind, ocid, conversation_id, body) "
    .. "VALUES (?, ?, ?, ?, ?)", now(), kind, ocid, cid, raw))
  return self.store:last_id()
end

function Ledger:mark(callback_id, payout_id, applied)
  must(self.store:exec("UPDATE callbacks SET payout_id = ?, applied = ? WHERE id = ?",
    payout_id, applied, callback_id))
end

local function raw_text(body)
  if type(body) == "string" then return body end
  return json.encode(body) or tostring(body)
end

-- Moves an open row to a final state; a row already final in the same
-- state is a duplicate; in another, the conflict is flagged for a person.
function Ledger:settle(row, to, set, source)
  for _ = 1, 5 do
    if OPEN[row.state] then
      local moved, err = self:move(row.id, row.state, to, set)
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

function Ledger:flag(row, why)
  self.store:exec("UPDATE payouts SET attention = coalesce(attention || '; ', '') || ?, "
    .. "updated_at = ? WHERE id = ?", why, now(), row.id)
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
function Ledger:applyResult(body)
  local raw = raw_text(body)
  local r, perr = result.parse(body, self.parsing)
  if not r then
    self:keep("unreadable", raw)
    return nil, perr
  end
  local cb = self:keep("result", raw, r.OriginatorConversationID, r.ConversationID)
  local q = self.store:one("SELECT * FROM status_queries WHERE conversation_id = ? OR ocid = ?",
    r.ConversationID, r.OriginatorConversationID)
  if q then return self:apply_status(cb, r, q) end
  local row = r.OriginatorConversationID and self:row("ocid = ?", r.OriginatorConversationID)
  if not row and r.ConversationID then row = self:row("conversation_id = ?", r.ConversationID) end
  if not row then
    self:mark(cb, nil, "unmatched")
    return { applied = "unmatched" }
  end
  local applied
  if r.ok then
    applied = self:settle(row, "paid", { receipt = receipt_of(r), result_code = "0",
      result_desc = r.ResultDesc, conversation_id = not row.conversation_id and r.ConversationID
      or nil }, "a result")
  else
    applied = self:settle(row, "failed", { result_code = tostring(r.ResultCode),
      result_desc = r.ResultDesc, outcome = "failed" }, "a result")
  end
  self:mark(cb, row.id, applied)
  return { applied = applied, payout = view(self:row("id = ?", row.id)) }
end

local VERDICT_STATE = { completed = "paid", failed = "failed", not_found = "not_found" }

function Ledger:apply_status(cb, r, q)
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
  self:mark(cb, row.id, applied)
  return { applied = applied, verdict = v.verdict, payout = view(self:row("id = ?", row.id)) }
end

-- The answer to a status query can reach a callback handler before the
-- query is recorded: it was kept unmatched, and is applied now.
function Ledger:apply_early(payout_id, ack)
  local early = must(self.store:rows("SELECT id, body FROM callbacks WHERE applied = 'unmatched' "
    .. "AND (conversation_id = ? OR ocid = ?) ORDER BY id", ack.ConversationID,
    ack.OriginatorConversationID))
  for _, cb in ipairs(early) do
    local r = result.parse(cb.body)
    if r then self:apply_status(cb.id, r, { payout_id = payout_id }) end
  end
end

-- ledger:applyQueueTimeout(body): the payout's outcome is unknown until queried.
function Ledger:applyQueueTimeout(body)
  local raw = raw_text(body)
  local t, perr = result.parse_queue_timeout(body, self.parsing)
  if not t then
    self:keep("unreadable", raw)
    return nil, perr
  end
  local cb = self:keep("queue_timeout", raw, t.OriginatorConversationID, t.ConversationID)
  local row = self:row("ocid = ?", t.OriginatorConversationID)
  if not row then
    self:mark(cb, nil, "unmatched")
    return { applied = "unmatched" }
  end
  local applied = row.state
  for _ = 1, 5 do
    if not (row.state == "submitted" or row.state == "accepted") then break end
    if self:move(row.id, row.state, "unknown", { outcome = "ambiguous" }) then
      applied = "unknown"
      break
    end
    row = must(self:row("id = ?", row.id))
  end
  self:mark(cb, row.id, applied)
  return { applied = applied, payout = view(self:row("id = ?", row.id)) }
end

-- ledger:reconcile(mpesa, options) -> report | nil, err
-- options: delay (seconds a payout rests before its first query: one in
-- flight can read as not found; default 60), overdue (seconds an accepted or
-- submitted payout may wait for its result; default 300), requery (seconds
-- between queries of one payout; default 300), limit (default 100), lease
-- (seconds a worker holds a payout while it asks about it; default 120),
-- resultUrl / queueTimeOutUrl (where Transaction Status answers).
-- Each reconcile option: the least it may be.
local RECONCILE_MINIMUM = { delay = 0, overdue = 0, requery = 0, lease = 1, limit = 1 }

function Ledger:reconcile(mpesa, options)
  local o = options or {}
  for name, least in pairs(RECONCILE_MINIMUM) do
    local v = o[name]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v < least or v == math.huge) then
      return nil, errors.validation(name, string.format("must be a number of %s from %d",
        name == "limit" and "payouts" or "seconds", least))
    end
  end
  local t = now()
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
function Ledger:lease(t, after, o)
  return must(self.store:transaction(function()
    local row = must(self.store:one("SELECT * FROM payouts WHERE id > ? AND state = 'unknown' "
      .. "AND updated_at <= ? AND (queried_at IS NULL OR queried_at <= ?) "
      .. "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id LIMIT 1" .. self.store.skip_locked,
      after, t - (o.delay or 60), t - (o.requery or 300), now()))
    if row then
      must(self.store:exec("UPDATE payouts SET lease_owner = ?, lease_until = ? WHERE id = ?",
        self.owner, now() + (o.lease or 120), row.id))
    end
    return row
  end))
end

-- ledger:retry(id) -> the new attempt (created; send it with ledger:send)
-- Only once M-Pesa said the payout failed or was not found, once per attempt.
function Ledger:retry(id)
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

-- ledger:get(id or reference) -> payout | nil (the newest attempt of a reference)
function Ledger:get(key)
  local row
  if type(key) == "number" then
    row = self:row("id = ?", key)
  else
    row = self:row("reference = ?", key)
    if row then row = self:latest(row.id) end
  end
  return view(row or nil)
end

-- ledger:list{state=, limit=, attention=true} -> payouts, newest first
function Ledger:list(options)
  local o = options or {}
  local where, values = {}, {}
  if o.state then
    where[#where + 1] = "state = ?"
    values[#values + 1] = o.state
  end
  if o.attention then where[#where + 1] = "attention IS NOT NULL" end
  values[#values + 1] = o.limit or 100
  local sql = "SELECT * FROM payouts" .. (#where > 0 and " WHERE " .. table.concat(where, " AND ")
    or "") .. " ORDER BY id DESC LIMIT ?"
  local rows = must(self.store:rowsv(sql, values))
  local out = {}
  for i, row in ipairs(rows) do out[i] = view(row) end
  return out
end

-- ledger:stats() -> { total, byState = {state = n}, attention, unmatchedCallbacks }
function Ledger:stats()
  local s = { total = 0, byState = {}, amountByState = {} }
  for _, r in ipairs(must(self.store:rows("SELECT state, count(*) AS n, sum(amount) AS a "
    .. "FROM payouts GROUP BY state"))) do
    s.byState[r.state] = tonumber(r.n)
    s.amountByState[r.state] = tonumber(r.a)
    s.total = s.total + tonumber(r.n)
  end
  s.attention = tonumber(must(self.store:one("SELECT count(*) AS n FROM payouts "
    .. "WHERE attention IS NOT NULL")).n)
  s.unmatchedCallbacks = tonumber(must(self.store:one("SELECT count(*) AS n FROM callbacks "
    .. "WHERE applied = 'unmatched'")).n)
  return s
end

function Ledger:close()
  self.store:close()
end

for _, name in ipairs({ "pay", "send", "payBatch", "applyResult", "applyQueueTimeout", "reconcile",
  "retry", "get", "list", "stats" }) do
  Ledger[name] = guarded(Ledger[name])
end

ledger.STATES = require("b2c.ledger.sqlite").STATES
ledger.FINAL = FINAL

local function unescape(s)
  return s and (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- postgresql://user[:password]@host[:port]/database -> its parts | nil
local function postgres_url(url)
  local rest = url:match("^postgres://(.+)$") or url:match("^postgresql://(.+)$")
  if not rest then return nil end
  local auth, host, db = rest:match("^([^@/]+)@([^/]+)/([^/?#]+)$")
  if not auth then return nil end
  local user, password = auth:match("^([^:]+):(.*)$")
  local name, port = host:match("^([^:]+):(%d+)$")
  return { user = unescape(user or auth), password = unescape(password), host = name or host,
    port = tonumber(port or 5432), database = unescape(db) }
end

-- b2c.ledger.open(url[, { events = hook }]) -> ledger | nil, err
-- url: sqlite:///path/ledger.db or postgresql://user[:password]@host[:port]/database
-- events: as b2c.new's (ledger.state, callback.read / callback.refused)
function ledger.open(url, options)
  if type(url) ~= "string" then error("b2c.ledger.open: expected a URL string", 2) end
  if options ~= nil and type(options) ~= "table" then error("b2c.ledger.open: options must be a table", 2) end
  for k in pairs(options or {}) do
    if k ~= "events" then error("b2c.ledger.open: " .. tostring(k) .. ": is not an option (only events is)", 2) end
  end
  local hook, herr = events.check(options and options.events, "events")
  if herr then return nil, herr end
  local path = url:match("^sqlite://(/.+)$")
  local pg = not path and postgres_url(url)
  if not path and not pg then
    -- the URL itself may hold a password: only its scheme is named
    return nil, errors.config("url", "must be sqlite:///absolute/path.db or "
      .. "postgresql://user[:password]@host[:port]/database (got a "
      .. string.format("%q", url:match("^(%a[%w+.-]*):") or "schemeless") .. " URL)")
  end
  local s, err
  if path then
    s, err = require("b2c.ledger.sqlite").open(path)
  else
    s, err = require("b2c.ledger.postgres").open(pg)
  end
  if not s then return nil, err end
  -- owner: this ledger's name on the payouts it leases while reconciling
  return setmetatable({ store = s, owner = core.uuid(), emit = events.emitter(hook),
    parsing = hook and { events = hook } }, Ledger)
end

return ledger
