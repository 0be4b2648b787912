-- b2c.ledger's callbacks on a real SQLite file and a real PostgreSQL 15
-- started for the spec: each callback is recorded in one durable commit
-- (its body, the payout's move, the mark), the body is kept when applying
-- it fails, and the ledger.state events come only after the commit.
local ledger = require("b2c.ledger")
local postgres = require("support.postgres")

local tempdir = require("support.files").tempdir

-- A trigger per store that makes marking a callback fail, as a full disk would.
local FAIL_MARK = {
  SQLite = { "CREATE TRIGGER fail_mark BEFORE UPDATE ON callbacks "
    .. "BEGIN SELECT RAISE(ABORT, 'disk full'); END" },
  PostgreSQL = { [[CREATE FUNCTION fail_mark() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN RAISE EXCEPTION 'disk full'; END $f$]], "CREATE TRIGGER fail_mark BEFORE UPDATE "
    .. "ON callbacks FOR EACH ROW EXECUTE FUNCTION fail_mark()" },
}
local DROP_FAIL_MARK = { SQLite = "DROP TRIGGER fail_mark", PostgreSQL = "DROP TRIGGER fail_mark ON callbacks" }

-- Durable commits on a ledger's connection: each COMMIT, and each write
-- outside a transaction (it commits alone). -> the count so far, as count()
local function commits(book)
  local conn, inside, n = book.store.conn, false, 0
  book.store.conn = setmetatable({
    execute = function(_, sql)
      local head = sql:match("^%s*(%a+)"):upper()
      if head == "BEGIN" then
        inside = true
      elseif head == "COMMIT" then
        inside, n = false, n + 1
      elseif head == "ROLLBACK" and not sql:find("SAVEPOINT", 1, true) then
        inside = false
      elseif not inside and head ~= "SELECT" then
        n = n + 1
      end
      return conn:execute(sql)
    end,
    close = function() return conn:close() end,
  }, { __index = conn })
  return function() return n end
end

-- Payout ocid-i, accepted as conversation cid-i.
local function accepted(book, i)
  local t = os.time()
  assert(book.store:exec("INSERT INTO payouts (reference, operation, ocid, conversation_id, "
    .. "recipient, amount, request, state, created_at, updated_at) VALUES (?, 'BusinessPayment', "
    .. "?, ?, '254708374149', 100, '{}', 'accepted', ?, ?)", "ref-" .. i, "ocid-" .. i, "cid-" .. i,
    t, t))
  return book.store:one("SELECT * FROM payouts WHERE ocid = ?", "ocid-" .. i)
end

-- The result of payout ocid-i: paid with `receipt` (code 0) or failed (code).
local function result_of(i, receipt, code)
  return { Result = { ResultType = 0, ResultCode = code or 0, ResultDesc = "Processed",
    OriginatorConversationID = "ocid-" .. i, ConversationID = "cid-" .. i,
    TransactionID = receipt or "R" .. i, ResultParameters = { ResultParameter = {
      { Key = "TransactionReceipt", Value = receipt or "R" .. i } } } } }
end

local function timeout_of(i)
  return { Result = { ResultType = 1, ResultCode = 1, ResultDesc = "The request timed out",
    OriginatorConversationID = "ocid-" .. i, ConversationID = "cid-" .. i, TransactionID = "X" } }
end

-- Processes that each apply `body` to the ledger at url at the same moment:
-- what each answered (applied), once all have exited.
local function at_once(url, body, n)
  local start = require("socket").gettime() + 1
  local code = string.format([[
    package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
    package.cpath = "build/?.so;" .. package.cpath
    local socket = require("socket")
    local book = assert(require("b2c.ledger").open(%q))
    socket.sleep(math.max(0, %.3f - socket.gettime()))
    local r, err = book:applyResult(%q)
    io.write(r and r.applied or tostring(err))
    book:close()
  ]], url, start, require("b2c.json").encode(body))
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(code)
  f:close()
  local procs, answers = {}, {}
  for i = 1, n do procs[i] = io.popen("lua5.4 " .. script) end
  for i = 1, n do
    answers[i] = procs[i]:read("*a")
    procs[i]:close()
  end
  os.remove(script)
  table.sort(answers)
  return answers
end

-- One folder of SQLite files and one PostgreSQL server (when installed) for
-- every test: each test gets a new ledger in them.
local dir, pg, pg_why
local made = 0

setup(function()
  dir = tempdir()
  pg, pg_why = postgres.start()
  if not pg then print("PostgreSQL specs skipped: " .. pg_why) end
end)
teardown(function()
  if pg then pg:stop() end
  if dir then os.execute("rm -rf '" .. dir .. "'") end
end)

-- A new, empty ledger's URL on store `name` | nil when it is not installed.
local function new_url(name)
  made = made + 1
  if name == "SQLite" then return "sqlite://" .. dir .. "/ledger" .. made .. ".db" end
  if not pg then return nil end
  pg:createdb("callbacks" .. made)
  return pg:url("callbacks" .. made)
end

for _, name in ipairs({ "SQLite", "PostgreSQL" }) do
  describe("b2c.ledger callbacks (" .. name .. ")", function()
    local url, book
    local seen

    before_each(function()
      seen = {}
      url = new_url(name)
      book = url and assert(ledger.open(url, { events = function(e) seen[#seen + 1] = e end }))
    end)
    after_each(function()
      if book then book:close() end
      book = nil
    end)

    local function it_ledger(title, fn)
      it(title, function()
        if url then fn() end
      end)
    end

    local function moves()
      local out = {}
      for _, e in ipairs(seen) do
        if e.name == "ledger.state" then out[#out + 1] = e.from .. ">" .. e.to end
      end
      return out
    end

    it_ledger("records each callback in one commit, whatever it did", function()
      for i = 1, 3 do accepted(book, i) end
      local count = commits(book)
      local cases = {
        { "paid", function() return book:applyResult(result_of(1)) end },
        { "duplicate", function() return book:applyResult(result_of(1)) end },
        { "conflict", function() return book:applyResult(result_of(1, nil, 2001)) end },
        { "failed", function() return book:applyResult(result_of(2, nil, 2001)) end },
        { "unmatched", function() return book:applyResult(result_of(9)) end },
        { "unknown", function() return book:applyQueueTimeout(timeout_of(3)) end },
        { "unmatched", function() return book:applyQueueTimeout(timeout_of(8)) end },
      }
      for _, case in ipairs(cases) do
        local before = count()
        assert.are.equal(case[1], assert(case[2]()).applied)
        assert.are.equal(1, count() - before, case[1] .. ": commits")
      end
      assert.are.same({ "accepted>paid", "accepted>failed", "accepted>unknown" }, moves())
      local marks = book.store:rows("SELECT applied FROM callbacks ORDER BY id")
      assert.are.equal(#cases, #marks)
      for k, case in ipairs(cases) do assert.are.equal(case[1], marks[k].applied) end
    end)

    it_ledger("flags a result whose receipt another payout holds, and keeps its body", function()
      accepted(book, 1)
      local second = accepted(book, 2)
      assert.are.equal("paid", assert(book:applyResult(result_of(1, "RSAME"))).applied)
      local r = assert(book:applyResult(result_of(2, "RSAME")))
      assert.are.equal("conflict", r.applied)
      assert.are.equal("accepted", r.payout.state)
      assert.is_nil(r.payout.receipt)
      assert.matches("a result could not be applied", r.payout.attention)
      local kept = book.store:one("SELECT * FROM callbacks WHERE ocid = 'ocid-2'")
      assert.are.equal("conflict", kept.applied)
      assert.are.equal(tonumber(second.id), tonumber(kept.payout_id))
      assert.truthy(kept.body:find("RSAME", 1, true))
      assert.are.same({ "accepted>paid" }, moves())
    end)

    it_ledger("keeps the body when applying it fails, and undoes the rest", function()
      accepted(book, 1)
      for _, statement in ipairs(FAIL_MARK[name]) do assert(book.store:exec(statement)) end
      local r, err = book:applyResult(result_of(1))
      assert.is_nil(r)
      assert.are.equal("ledger", err.kind)
      assert.matches("disk full", err.message)
      local kept = book.store:rows("SELECT * FROM callbacks")
      assert.are.equal(1, #kept)
      assert.is_nil(kept[1].applied)
      assert.truthy(kept[1].body:find("ocid-1", 1, true))
      assert.are.equal("accepted", book:get(1).state)
      assert.are.same({}, moves())
      -- the same callback again, once the disk has room, applies
      assert(book.store:exec(DROP_FAIL_MARK[name]))
      assert.are.equal("paid", assert(book:applyResult(result_of(1))).applied)
      assert.are.same({ "accepted>paid" }, moves())
    end)

    it_ledger("moves a payout once when four processes apply its result at once", function()
      accepted(book, 1)
      local answers = at_once(url, result_of(1), 4)
      assert.are.same({ "duplicate", "duplicate", "duplicate", "paid" }, answers)
      assert.are.equal("paid", book:get(1).state)
      local marks = book.store:rows("SELECT applied, count(*) AS n FROM callbacks GROUP BY applied "
        .. "ORDER BY applied")
      assert.are.equal(2, #marks)
      assert.are.same({ "duplicate", 3, "paid", 1 }, { marks[1].applied, tonumber(marks[1].n),
        marks[2].applied, tonumber(marks[2].n) })
    end)

    it_ledger("emits a move's event once it is committed: another connection sees it", function()
      accepted(book, 1)
      local other = assert(ledger.open(url))
      local state
      book:close()
      book = assert(ledger.open(url, { events = function(e)
        if e.name == "ledger.state" then state = other:get(1).state end
      end }))
      local ok, err = pcall(function()
        assert.are.equal("paid", assert(book:applyResult(result_of(1))).applied)
      end)
      other:close()
      assert(ok, err)
      assert.are.equal("paid", state)
    end)
  end)
end
