-- b2c.ledger.batch: ledger:payBatch. A list of payouts sent by the client's
-- batch runner (sendBatch's, engine/batch.lua), each row committed as
-- submitted before it leaves, a group of rows per commit, the outcomes so
-- far written with each commit.
local engine_batch = require("b2c.engine.batch")
local errors = require("b2c.errors")
local failures = require("b2c.ledger.failures")
local json = require("b2c.json")
local request = require("b2c.ledger.request")
local statements = require("b2c.ledger.statements")

local must = failures.must

local Batch = {}

-- One payBatch's bookkeeping. entries[k]: what the batch's payout k pays,
-- a row already in the ledger (created) or a new payout (`new`: its
-- prepared columns and body); marked[k]: "mine" once its row is committed
-- as submitted by this batch, "taken" when another worker has it;
-- `pending`: outcomes not yet written; `failure`: the store's error once a
-- write failed (the batch then stops).
local Run = {}
Run.__index = Run

-- The pending outcomes as statements, and how many they write.
function Run:outcomes()
  local script, acks = {}, {}
  for _, r in ipairs(self.pending) do
    if r[2] then acks[#acks + 1] = r else script[#script + 1] = statements.failure(r[1], r[3]) end
  end
  if #acks > 0 then script[#script + 1] = statements.acks(acks, self.book.store) end
  return script, #self.pending
end

-- The first n pending outcomes are written: reported as ledger.state
-- events, one per new state, counting the outcomes written.
function Run:written(n)
  local to = {}
  for i = 1, n do
    local r = self.pending[i]
    local state = r[2] and "accepted" or statements.state_after(r[3])
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
  local script, n = self:outcomes()
  if n == 0 and not fn then return true end
  local ok, err = self.book.store:transaction(function()
    for _, st in ipairs(script) do must(self.book.store:execv(st[1], st[2], st[3])) end
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

-- Commits the batch's payouts first..last as submitted before the first
-- of them leaves. New payouts are inserted straight as submitted, with the
-- outcomes so far, in one transaction (one round trip on PostgreSQL). Rows
-- left created by an earlier batch are moved by compare-and-set; when
-- another worker took some of those, that is rolled back and done row by row.
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
    local script, n = self:outcomes()
    local ok, mine = pcall(book.insert_submitted, book, list, script)
    if not ok then
      if not failures.is_failure(mine) then error(mine, 0) end
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
      .. "WHERE id IN (" .. table.concat(ids, ",") .. ") AND state || '' = 'created'", os.time()))
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

-- The error of a batch the database stopped: failure (the store's error),
-- rep (sendBatch's report, if any) of `count` payouts.
local function stopped(failure, rep, count)
  local cause = tostring(failure.message or failure):gsub("^ledger: ", "")
  return errors.new("ledger", string.format("ledger: the database failed during the batch "
    .. "(%s); the batch stopped, nothing more was sent: %d payouts had left, each after its row "
    .. "was committed as submitted (outcomes in err.report; rows whose outcome could not be "
    .. "written stay submitted: reconcile them), %d never left", cause,
    rep and rep.total - rep.unsent - rep.invalid or 0, rep and rep.unsent or count),
    { report = rep, cause = cause })
end

-- What each prepared payout pays: a new payout (`new`: its columns), or
-- the row its reference already has (its newest attempt). One reference
-- twice in one list is one payout (an error if they differ).
-- -> entries | nil, err
local function entries_of(book, prepared)
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
  local existing = book:rows_in("reference", refs)
  local entries = {}
  for i, p in ipairs(prepared) do
    if p.same_as then
      entries[i] = entries[p.same_as]
    elseif p.reference and existing[p.reference] then
      local row, err = book:same_payout(existing[p.reference], p)
      if not row then return nil, err end
      entries[i] = row
    else
      entries[i] = { new = p, ocid = p.ocid, state = "created" }
    end
  end
  return entries
end

-- ledger:payBatch(mpesa, payouts, options) -> report | nil, err
-- Every payout is checked, and its reference against the ledger, before
-- anything leaves. Each payout's row is committed as submitted before it
-- leaves: a group of `concurrency` rows per commit, which also writes the
-- outcomes so far. A payout that never left has no row, or (from an
-- earlier batch) a created one. When the database fails the batch stops:
-- nil, err (kind "ledger", err.cause, err.report); nothing leaves after that.
function Batch:payBatch(mpesa, payouts, options)
  if type(payouts) ~= "table" then error("ledger: payouts must be a list of tables", 2) end
  options = options or {}
  local op = request.operation(options.operation)
  local prepared = {}
  for i, payout in ipairs(payouts) do
    local p, err = request.prepare(mpesa, op, payout)
    if not p then
      err.index = i
      err.message = "payouts[" .. i .. "]: " .. err.message .. "; nothing was sent"
      return nil, err
    end
    prepared[i] = p
  end
  local entries, err = entries_of(self, prepared)
  if not entries then return nil, err end
  local run = setmetatable({ book = self, entries = {}, pending = {}, marked = {}, seen = {} }, Run)
  local queued, count = {}, 0
  for _, e in ipairs(entries) do
    if e.state == "created" and not queued[e] then
      queued[e] = true
      count = count + 1
      run.entries[count] = e
    end
  end
  -- A new payout leaves with the body prepare built; a row of an earlier
  -- batch is built again from its stored request (and checked again).
  local function build(k)
    local e = run.entries[k]
    if e.new then return e.new.body end
    return op.build(mpesa, request.with_ocid(json.decode(e.request), e.ocid))
  end
  local group_size = math.max(1, math.floor(tonumber(options.concurrency) or 16))
  local report, berr = engine_batch.run_built(mpesa, op, count, build, {
    concurrency = options.concurrency, tps = options.tps, progress = options.progress,
    maxSpikeRetries = options.maxSpikeRetries,
    onSubmit = function(k)
      if not run.marked[k] then run:mark(k, math.min(count, k + group_size - 1)) end
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
  if failure then return nil, stopped(failure, rep, count) end
  if not report then return nil, berr end
  report.payouts = self:views(entries)
  return report
end

return Batch
