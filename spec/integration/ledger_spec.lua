-- b2c.ledger on a real SQLite file, and on a real PostgreSQL 15 started for
-- the spec, against the simulator over real HTTP: the state machine,
-- idempotent references, callbacks in any order, and an ambiguous payout
-- reconciled by Transaction Status without paying twice.
local b2c = require("b2c")
local json = require("b2c.json")
local ledger = require("b2c.ledger")
local sim = require("support.sim")
local postgres = require("support.postgres")

local tempdir = require("support.files").tempdir

-- Where each test's fresh ledger lives.
local BACKENDS = {
  {
    name = "SQLite",
    start = function() return true end,
    stop = function() end,
    new = function(self)
      self.dir = tempdir()
      return "sqlite://" .. self.dir .. "/ledger.db"
    end,
    clean = function(self) os.execute("rm -rf '" .. self.dir .. "'") end,
    FAIL_SUBMIT = { "CREATE TRIGGER fail_submit BEFORE INSERT ON payouts "
      .. "WHEN (SELECT count(*) FROM payouts) >= 5 BEGIN SELECT RAISE(ABORT, 'disk full'); END" },
  },
  {
    name = "PostgreSQL",
    start = function(self)
      local why
      self.pg, why = postgres.start()
      if not self.pg then print("PostgreSQL specs skipped: " .. why) end
      return self.pg ~= nil
    end,
    stop = function(self) if self.pg then self.pg:stop() end end,
    new = function(self)
      self.n = (self.n or 0) + 1
      self.pg:createdb("ledger" .. self.n)
      return self.pg:url("ledger" .. self.n)
    end,
    clean = function() end,
    FAIL_SUBMIT = { [[CREATE FUNCTION fail_submit() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN IF (SELECT count(*) FROM payouts) >= 5 THEN RAISE EXCEPTION 'disk full'; END IF;
      RETURN NEW; END $f$]], "CREATE TRIGGER fail_submit BEFORE INSERT ON payouts "
      .. "FOR EACH ROW EXECUTE FUNCTION fail_submit()" },
  },
}

for _, backend in ipairs(BACKENDS) do
  describe("b2c.ledger (" .. backend.name .. ")", function()
    local ctx = sim.session({ callbackDelay = 0.05 }, { reset = true })
    local book, mpesa
    local available

    local function client()
      return assert(b2c.new(ctx.s:settings({ resultUrl = ctx.receiver:urlFor("/result"),
        queueTimeOutUrl = ctx.receiver:urlFor("/timeout"), timeout = 5 })))
    end

    local function payout(over)
      local p = { recipientPhone = "0708374149", amount = 500, remarks = "Ledger spec" }
      for k, v in pairs(over or {}) do p[k] = v end
      return p
    end

    setup(function()
      available = backend:start()
    end)
    teardown(function()
      backend:stop()
    end)
    before_each(function()
      backend.url = available and backend:new()
      book = available and assert(ledger.open(backend.url))
      mpesa = client()
    end)
    after_each(function()
      if book then book:close() end
      mpesa:close()
      if available then backend:clean() end
    end)

    -- A test that needs the ledger: skipped (with the reason printed at setup)
    -- when this backend is not installed.
    local function it_ledger(name, fn)
      it(name, function()
        if available then fn() end
      end)
    end

    it_ledger("pays: created -> submitted -> accepted, then paid by its result", function()
      local p = assert(book:pay(mpesa, payout({ reference = "inv-1" })))
      assert.are.equal("accepted", p.state)
      assert.is_string(p.conversationId)
      local r = assert(book:applyResult(ctx.callback("/result", p.originatorConversationId).raw))
      assert.are.equal("paid", r.applied)
      assert.are.equal("paid", r.payout.state)
      assert.is_string(r.payout.receipt)
      assert.are.same(r.payout, book:get("inv-1"))
      assert.are.same(r.payout, book:get(p.id))
      assert.are.equal(1, ctx.s:stats().sendsByOcid[p.originatorConversationId])
      assert.are.equal(1, book:stats().byState.paid)
    end)

    it_ledger("pays a reference once: again returns the same payout and sends nothing", function()
      local a = assert(book:pay(mpesa, payout({ reference = "inv-2" })))
      local b = assert(book:pay(mpesa, payout({ reference = "inv-2" })))
      assert.are.equal(a.id, b.id)
      local st = ctx.s:stats()
      assert.are.equal(1, st.requests["/mpesa/b2c/v3/paymentrequest"])
    end)

    it_ledger("refuses the same reference for another amount or recipient, before sending", function()
      assert(book:pay(mpesa, payout({ reference = "inv-3" })))
      local p, err = book:pay(mpesa, payout({ reference = "inv-3", amount = 501 }))
      assert.is_nil(p)
      assert.are.equal("validation", err.kind)
      assert.are.equal("reference", err.field)
      assert.matches("already used for another payout", err.message)
      p, err = book:pay(mpesa, payout({ reference = "inv-3", recipientPhone = "0700000001" }))
      assert.is_nil(p)
      assert.are.equal("reference", err.field)
      assert.are.equal(1, ctx.s:stats().requests["/mpesa/b2c/v3/paymentrequest"])
    end)

    it_ledger("refuses a caller's OCID and a bad payout before anything is stored", function()
      local p, err = book:pay(mpesa, payout({ originatorConversationId = "mine" }))
      assert.is_nil(p)
      assert.are.equal("originatorConversationId", err.field)
      p, err = book:pay(mpesa, payout({ amount = -5 }))
      assert.is_nil(p)
      assert.are.equal("amount", err.field)
      assert.are.equal(0, book:stats().total)
    end)

    it_ledger("applies duplicate callbacks once and keeps a result that came before the ack", function()
      local p = assert(book:pay(mpesa, payout({ recipientPhone = "0700009003" })))
      local first = ctx.callback("/result", p.originatorConversationId)
      local second = ctx.callback("/result", p.originatorConversationId)
      assert.are.equal("paid", book:applyResult(first.raw).applied)
      assert.are.equal("duplicate", book:applyResult(second.raw).applied)
      assert.are.equal("paid", book:get(p.id).state)

      -- a result recorded while the row is still submitted (the ack not yet
      -- written): the late ack must not move it back
      local q = assert(book:pay(mpesa, payout()))
      local res = ctx.callback("/result", q.originatorConversationId)
      book.store:exec("UPDATE payouts SET state = 'submitted', conversation_id = NULL WHERE id = ?", q.id)
      assert.are.equal("paid", book:applyResult(res.raw).applied)
      assert(book:record(q.originatorConversationId, { ConversationID = q.conversationId }))
      local after = book:get(q.id)
      assert.are.equal("paid", after.state)
      assert.are.equal(q.conversationId, after.conversationId)
    end)

    it_ledger("flags a conflicting second result for a person", function()
      local p = assert(book:pay(mpesa, payout({ recipientPhone = "0700000001" })))
      local res = ctx.callback("/result", p.originatorConversationId)
      assert.are.equal("failed", book:applyResult(res.raw).applied)
      local forged = res.body
      forged.Result.ResultCode = 0
      forged.Result.ResultDesc = "ok"
      local r = book:applyResult(forged)
      assert.are.equal("conflict", r.applied)
      assert.are.equal("failed", r.payout.state)
      assert.matches("paid after the payout was failed", r.payout.attention)
      assert.are.equal(1, book:stats().attention)
      assert.are.equal(1, #book:list({ attention = true }))
      assert.are.equal(p.id, book:list({ attention = true })[1].id)
    end)

    it_ledger("keeps a result for an unknown OCID", function()
      local r = book:applyResult({ Result = { ResultType = 0, ResultCode = 0, ResultDesc = "ok",
        OriginatorConversationID = "not-ours-1", ConversationID = "AG_1", TransactionID = "X" } })
      assert.are.equal("unmatched", r.applied)
      assert.are.equal(1, book:stats().unmatchedCallbacks)
      local row = book.store:one("SELECT * FROM callbacks WHERE ocid = 'not-ours-1'")
      assert.matches("not%-ours%-1", row.body)
    end)

    it_ledger("reconciles an ambiguous payout to paid by Transaction Status, sending it once", function()
      local p, err = book:pay(mpesa, payout({ reference = "inv-amb", remarks = "Pay sim:fault=drop" }))
      assert.are.equal("unknown", p.state)
      assert.are.equal("ambiguous", err.outcome)
      -- its result callback is lost; paying the reference again sends nothing
      assert.are.equal(p.id, assert(book:pay(mpesa, payout({ reference = "inv-amb",
        remarks = "Pay sim:fault=drop" }))).id)
      local report = assert(book:reconcile(mpesa, { delay = 0,
        resultUrl = ctx.receiver:urlFor("/status") }))
      assert.are.equal(1, report.queried)
      -- asked already: another round (another worker) does not ask again yet
      assert.are.equal(0, book:reconcile(mpesa, { delay = 0 }).queried)
      local r = assert(book:applyResult(ctx.callback("/status").raw))
      assert.are.equal("paid", r.applied)
      assert.are.equal("completed", r.verdict)
      assert.is_string(r.payout.receipt)
      assert.are.equal(1, ctx.s:stats().sendsByOcid[p.originatorConversationId])
      -- the result that also arrives later is a duplicate
      local late = book:applyResult(ctx.callback("/result", p.originatorConversationId).raw)
      assert.are.equal("duplicate", late.applied)
      assert.are.equal(0, book:reconcile(mpesa, { delay = 0 }).queried)
    end)

    it_ledger("asks about each payout once per round, even with requery = 0", function()
      local a = assert(book:pay(mpesa, payout({ remarks = "Pay sim:fault=drop" })))
      local b = assert(book:pay(mpesa, payout({ remarks = "Pay sim:fault=drop" })))
      local report = assert(book:reconcile(mpesa, { delay = 0, requery = 0 }))
      assert.are.equal(2, report.queried)
      local asked = {}
      for _, q in ipairs(ctx.s:stats().queries) do
        local ocid = q.asked and q.asked.originalConversationId
        if ocid then asked[ocid] = (asked[ocid] or 0) + 1 end
      end
      assert.are.same({ [a.originatorConversationId] = 1, [b.originatorConversationId] = 1 }, asked)
      assert.is_nil(book:get(a.id).leaseOwner)
    end)

    it_ledger("applies a status answer that came before its query was recorded", function()
      local p = assert(book:pay(mpesa, payout({ remarks = "Pay sim:fault=drop" })))
      assert.are.equal("unknown", p.state)
      -- a callback handler quicker than the worker: the answer is applied
      -- before reconcile has written down the query
      local real = mpesa.transactionStatus.query
      mpesa.transactionStatus.query = function(fields)
        local ack, err = real(fields)
        if ack then assert.are.equal("unmatched", book:applyResult(ctx.callback("/status").raw).applied) end
        return ack, err
      end
      local report = book:reconcile(mpesa, { delay = 0, resultUrl = ctx.receiver:urlFor("/status") })
      mpesa.transactionStatus.query = real
      assert.are.equal(1, report.queried)
      local after = book:get(p.id)
      assert.are.equal("paid", after.state)
      assert.is_string(after.receipt)
    end)

    it_ledger("marks an overdue accepted payout unknown, and a queue timeout unknown", function()
      local p = assert(book:pay(mpesa, payout({ recipientPhone = "0700009001" })))
      local t = assert(book:applyQueueTimeout(ctx.callback("/timeout", p.originatorConversationId).raw))
      assert.are.equal("unknown", t.applied)
      local q = assert(book:pay(mpesa, payout({ recipientPhone = "0700009002" })))
      local report = book:reconcile(mpesa, { overdue = 0, delay = 0,
        resultUrl = ctx.receiver:urlFor("/status") })
      assert.are.equal(1, report.markedUnknown)
      assert.are.equal(2, report.queried)
      for _ = 1, 2 do assert.are.equal("paid", book:applyResult(ctx.callback("/status").raw).applied) end
      assert.are.equal("paid", book:get(p.id).state)
      assert.are.equal("paid", book:get(q.id).state)
    end)

    it_ledger("retries only after M-Pesa said failed, with a new OCID linked to the first", function()
      local p = assert(book:pay(mpesa, payout({ reference = "inv-r" })))
      local again, err = book:retry(p.id)
      assert.is_nil(again)
      assert.matches("accepted: a new attempt only once M%-Pesa said failed", err.message)
      book.store:exec("UPDATE payouts SET state = 'failed' WHERE id = ?", p.id)
      local n = assert(book:retry(p.id))
      assert.are.equal("created", n.state)
      assert.are_not.equal(p.originatorConversationId, n.originatorConversationId)
      assert.are.equal(p.id, n.previousId)
      assert.are.equal(p.id, n.firstId)
      assert.is_nil(book:retry(p.id))
      assert.are.equal(n.id, book:get("inv-r").id)
      local sent = assert(book:send(mpesa, n.id))
      assert.are.equal("accepted", sent.state)
      local st = ctx.s:stats()
      assert.are.equal(1, st.sendsByOcid[p.originatorConversationId])
      assert.are.equal(1, st.sendsByOcid[n.originatorConversationId])
    end)

    it_ledger("pays a batch: every row durable before it leaves, outcomes recorded", function()
      local list = {}
      for i = 1, 20 do list[i] = payout({ reference = "batch-" .. i }) end
      list[21] = payout({ reference = "batch-bad", remarks = "x sim:fault=drop" })
      local report = assert(book:payBatch(mpesa, list, { concurrency = 4 }))
      assert.are.equal(20, report.accepted)
      assert.are.equal(1, report.ambiguous)
      local st = book:stats()
      assert.are.equal(20, st.byState.accepted)
      assert.are.equal(1, st.byState.unknown)
      for ocid, n in pairs(ctx.s:stats().sendsByOcid) do assert.are.equal(1, n, ocid) end
      -- again: nothing new is sent
      local again = assert(book:payBatch(mpesa, list))
      assert.are.equal(0, again.total)
      assert.are.equal(21, #again.payouts)
      -- one reference twice in a list is one payout; differing, an error before anything
      local twice = assert(book:payBatch(mpesa, { payout({ reference = "dup" }), payout({ reference = "dup" }) }))
      assert.are.equal(1, twice.total)
      assert.are.equal(twice.payouts[1].id, twice.payouts[2].id)
      local bad, err = book:payBatch(mpesa, { payout({ reference = "dup2" }),
        payout({ reference = "dup2", amount = 900 }) })
      assert.is_nil(bad)
      assert.matches("payouts%[1%] and payouts%[2%] share the reference", err.message)
      assert.is_nil(book:get("dup2"))
      local mixed, merr = book:payBatch(mpesa, { payout({ reference = "new-1" }),
        payout({ reference = "batch-1", amount = 999 }) })
      assert.is_nil(mixed)
      assert.are.equal("reference", merr.field)
      assert.is_nil(book:get("new-1"))
    end)

    it_ledger("stores a batch's text and amounts exactly (quotes, backslashes, question marks)", function()
      local texts = { "O'Brien's pay?", [[back\slash \' ?]], "?, ?); DROP TABLE payouts; --" }
      local list = {}
      for i, text in ipairs(texts) do
        list[i] = payout({ reference = text .. " " .. i, remarks = text, amount = 1000 + i })
      end
      local report = assert(book:payBatch(mpesa, list, { concurrency = 2 }))
      assert.are.equal(#texts, report.accepted)
      for i, text in ipairs(texts) do
        local p = assert(book:get(text .. " " .. i))
        assert.are.equal(1000 + i, p.amount)
        local row = assert(book.store:one("SELECT request FROM payouts WHERE id = ?", p.id))
        assert.are.equal(text, json.decode(row.request).remarks)
      end
    end)

    it_ledger("pays through another money mover of the registry (B2Pochi)", function()
      local p = assert(book:pay(mpesa, payout({ reference = "pochi-1" }), { operation = "b2pochi" }))
      assert.are.equal("accepted", p.state)
      assert.are.equal("b2pochi", p.operation)
      assert.are.equal(1, ctx.s:stats().requests["/mpesa/b2pochi/v1/paymentrequest"])
      assert.are.equal("paid", book:applyResult(ctx.callback("/result", p.originatorConversationId).raw).applied)
      -- the same reference as a B2C payout is another payout: refused
      local q, err = book:pay(mpesa, payout({ reference = "pochi-1" }))
      assert.is_nil(q)
      assert.are.equal("reference", err.field)
      assert.has_error(function() book:pay(mpesa, payout(), { operation = "transactionStatus" }) end)
    end)

    it_ledger("stops a batch cleanly when the database fails: nothing leaves unstored", function()
      -- from the 6th payout on, storing a row fails (as a full disk would)
      for _, statement in ipairs(backend.FAIL_SUBMIT) do assert(book.store:exec(statement)) end
      local list = {}
      for i = 1, 20 do list[i] = payout({ reference = "full-" .. i }) end
      local report, err = book:payBatch(mpesa, list, { concurrency = 1 })
      assert.is_nil(report)
      assert.are.equal("ledger", err.kind)
      assert.matches("disk full", err.cause)
      assert.matches("the database failed during the batch %(.*disk full.-%); the batch stopped, "
        .. "nothing more was sent: 5 payouts had left", err.message)
      assert.are.equal(5, err.report.accepted)
      assert.are.equal(15, err.report.unsent)
      -- the 15 that never left were never stored either: paying them again is safe
      local st = book:stats()
      assert.are.equal(5, st.total)
      assert.are.equal(5, st.byState.accepted)
      local sends, sent = ctx.s:stats().sendsByOcid, 0
      for _, p in ipairs(book:list({ limit = 100 })) do
        assert.are.equal(1, sends[p.originatorConversationId])
        sent = sent + 1
      end
      assert.are.equal(5, sent)
      for _ in pairs(sends) do sent = sent - 1 end
      assert.are.equal(0, sent)
    end)

    it_ledger("never sends a batch payout whose reference another worker paid meanwhile", function()
      book.insert_submitted = function(...)
        -- another worker pays take-3 after this batch checked its references,
        -- before its first rows are stored
        book.insert_submitted = nil
        assert(book:pay(mpesa, payout({ reference = "take-3" })))
        return book.insert_submitted(...)
      end
      local list = {}
      for i = 1, 6 do list[i] = payout({ reference = "take-" .. i }) end
      local report, err = book:payBatch(mpesa, list, { concurrency = 4 })
      book.insert_submitted = nil
      assert.is_nil(report)
      assert.matches("was submitted elsewhere", err.message)
      local sends = ctx.s:stats().sendsByOcid
      -- take-3 left once: the other worker's payout
      local other = book:get("take-3")
      assert.are.equal(1, sends[other.originatorConversationId])
      local total = 0
      for _ in pairs(sends) do total = total + 1 end
      -- the others: sent once and accepted, or never sent (no row, or
      -- stopped before leaving: created again, outcome unsent)
      local stored = 1
      for _, i in ipairs({ 1, 2, 4, 5, 6 }) do
        local p = book:get("take-" .. i)
        local n = p and sends[p.originatorConversationId]
        if n then
          assert.are.equal(1, n)
          assert.are.equal("accepted", p.state)
          stored = stored + 1
        else
          assert.is_true(p == nil or (p.state == "created" and p.outcome == "unsent"), p and p.state)
        end
      end
      assert.are.equal(stored, total)
      -- the same batch again sends exactly what never left, once
      assert(book:payBatch(mpesa, list, { concurrency = 4 }))
      sends = ctx.s:stats().sendsByOcid
      for i = 1, 6 do
        local p = book:get("take-" .. i)
        assert.are.equal("accepted", p.state)
        assert.are.equal(1, sends[p.originatorConversationId])
      end
    end)

    it_ledger("refuses a bad state, a second OCID and a second receipt in the schema itself", function()
      local p = assert(book:pay(mpesa, payout()))
      assert.is_nil(book.store:exec("UPDATE payouts SET state = 'maybe' WHERE id = ?", p.id))
      local q = assert(book:pay(mpesa, payout()))
      assert.is_nil(book.store:exec("UPDATE payouts SET ocid = ? WHERE id = ?",
        p.originatorConversationId, q.id))
      book.store:exec("UPDATE payouts SET receipt = 'R1' WHERE id = ?", p.id)
      local _, err = book.store:exec("UPDATE payouts SET receipt = 'R1' WHERE id = ?", q.id)
      assert.matches("unique", err.message:lower())
      assert.are.equal("2", tostring(book.store:one("SELECT max(version) AS v FROM b2c_ledger_version").v))
    end)

    it_ledger("migrates a version 1 ledger: its payouts gain the reconcile lease columns", function()
      local p = assert(book:pay(mpesa, payout({ reference = "old-1" })))
      for _, statement in ipairs({ "ALTER TABLE payouts DROP COLUMN lease_owner",
        "ALTER TABLE payouts DROP COLUMN lease_until", "DELETE FROM b2c_ledger_version WHERE version = 2" }) do
        assert(book.store:exec(statement))
      end
      book:close()
      book = assert(ledger.open(backend.url))
      assert.are.equal("2", tostring(book.store:one("SELECT max(version) AS v FROM b2c_ledger_version").v))
      assert.are.equal(p.id, book:get("old-1").id)
      assert.is_nil(book:get("old-1").leaseOwner)
      assert(book.store:exec("UPDATE payouts SET lease_owner = 'w', lease_until = 1 WHERE id = ?", p.id))
    end)

    it_ledger("opens only sqlite:/// and postgresql:// URLs, with a clear error", function()
      local l, err = ledger.open("mysql://x")
      assert.is_nil(l)
      assert.are.equal("url", err.field)
      -- a URL it cannot read may still hold a password: never repeated
      l, err = ledger.open("postgresql://payouts:s3cret-pw@db.example")
      assert.is_nil(l)
      assert.are.equal("url", err.field)
      assert.is_nil(err.message:find("s3cret", 1, true), err.message)
      assert.matches('got a "postgresql" URL', err.message)
    end)
  end)
end
