-- b2c.ngx.ledger: the payout ledger (SQLite in a temporary folder, then a
-- PostgreSQL 15 the spec starts) used from a real nginx with 2 workers,
-- against the simulator. Every ledger call runs on the thread pool (LuaSQL
-- blocks); the simulator's callbacks reach the nginx handlers, which apply
-- them to the ledger.
local nginx = require("support.nginx")
local files = require("support.files")
local postgres = require("support.postgres")
local json = require("cjson.safe").new()
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"
local STATUS = "/mpesa/transactionstatus/v1/query"

-- Each store: open() -> the ledger's URL, close() removes what open made.
local STORES = {
  {
    name = "SQLite",
    open = function(self)
      -- the workers (nobody, when the specs run as root) write the database
      self.dir = files.tempdir()
      assert(os.execute("chmod 0777 '" .. self.dir .. "'"))
      return "sqlite://" .. self.dir .. "/ledger.db"
    end,
    close = function(self)
      if self.dir then os.execute("rm -rf '" .. self.dir .. "'") end
    end,
  },
  {
    name = "PostgreSQL",
    open = function(self)
      local why
      self.pg, why = postgres.start()
      assert(self.pg, why)
      self.pg:createdb("ngx_ledger")
      return self.pg:url("ngx_ledger")
    end,
    close = function(self)
      if self.pg then self.pg:stop() end
    end,
  },
}

for _, store in ipairs(STORES) do
  describe("b2c.ngx.ledger in nginx (2 workers, " .. store.name .. ")", function()
    local s, n

    setup(function()
      local credential
      s, credential = nginx.simulator()
      n = nginx.start_app(s, credential, { workers = 2, ledgerUrl = store:open() })
    end)
    teardown(function()
      if n then n:stop() end
      if s then s:stop() end
      store:close()
    end)

    local function ledger(path)
      local res = assert(n:request("GET", "/ledger/" .. path))
      assert.are.equal(200, res.status, res.body)
      return assert(json.decode(res.body), res.body)
    end

    -- Polls the payout `key` until it is in `state` (or 10 s pass); returns it.
    local function wait_state(key, state)
      local deadline = socket.gettime() + 10
      local got
      repeat
        got = ledger("get?key=" .. key)
        if got.ok and got.value.state == state then return got.value end
        socket.sleep(0.05)
      until socket.gettime() > deadline
      error(key .. " never became " .. state .. ": " .. json.encode(got) .. "\n" .. n:errorLog())
    end

    local function no_severe_log()
      local log = n:errorLog()
      assert.is_nil(log:find("%[alert%]"), log)
      assert.is_nil(log:find("%[crit%]"), log)
      assert.is_nil(log:find("%[emerg%]"), log)
    end

    it("pays from a location; the result callback reaches the nginx handler and the row ends paid", function()
      local got = ledger("pay?reference=ngx-inv-1")
      assert.is_true(got.ok, json.encode(got))
      local payout = got.value
      assert.are.equal("ngx-inv-1", payout.reference)
      assert.is_true(payout.state == "accepted" or payout.state == "paid", payout.state)
      assert.matches("^AG_", payout.conversationId)
      local paid = wait_state("ngx-inv-1", "paid")
      assert.are.equal(payout.id, paid.id)
      assert.is_string(paid.receipt)
      assert.are.equal(1, s:stats().sendsByOcid[payout.originatorConversationId])

      -- the same reference again: the same payout, nothing sent
      local sent = s:stats().requests[PAYMENT]
      got = ledger("pay?reference=ngx-inv-1")
      assert.is_true(got.ok, json.encode(got))
      assert.are.equal(payout.id, got.value.id)
      assert.are.equal("paid", got.value.state)
      -- ... and with another amount: the ledger's validation error, every field
      got = ledger("pay?reference=ngx-inv-1&amount=600")
      assert.is_false(got.ok)
      assert.is_true(got.isError, json.encode(got))
      assert.are.equal("validation", got.err.kind)
      assert.are.equal("reference", got.err.field)
      assert.are.equal(sent, s:stats().requests[PAYMENT])
      no_severe_log()
    end)

    it("pays many at once across both workers, each sent once, one token, every row paid", function()
      local paths = {}
      for i = 1, 24 do paths[i] = "/ledger/pay?reference=ngx-many-" .. i end
      local pids, workers = {}, 0
      for i, res in ipairs(n:concurrently("GET", paths, 30)) do
        assert.are.equal(200, res.status, res.body)
        local got = assert(json.decode(res.body), res.body)
        assert.is_true(got.ok, "payout " .. i .. ": " .. res.body)
        if not pids[got.pid] then workers = workers + 1 end
        pids[got.pid] = true
      end
      assert.are.equal(2, workers)
      local st = s:stats()
      assert.are.equal(1, st.tokensIssued)   -- the token in the lua_shared_dict
      for i = 1, 24 do
        local p = wait_state("ngx-many-" .. i, "paid")
        assert.are.equal(1, st.sendsByOcid[p.originatorConversationId])
      end
      no_severe_log()
    end)

    it("pays a batch on one pool thread", function()
      local got = ledger("batch?reference=ngx-batch&count=5")
      assert.is_true(got.ok, json.encode(got))
      assert.are.equal(5, #got.value.payouts)
      local st = s:stats()
      for i = 1, 5 do
        local p = wait_state("ngx-batch-" .. i, "paid")
        assert.are.equal(1, st.sendsByOcid[p.originatorConversationId])
      end
    end)

    it("takes a queue timeout to unknown; a reconcile from nginx makes it final, sent once", function()
      local got = ledger("pay?reference=ngx-qt-1&phone=254700009001")
      assert.is_true(got.ok, json.encode(got))
      local ocid = got.value.originatorConversationId
      local unknown = wait_state("ngx-qt-1", "unknown")
      assert.are.equal("ambiguous", unknown.outcome)

      local asked = s:stats().requests[STATUS] or 0
      local report = ledger("reconcile")
      assert.is_true(report.ok, json.encode(report))
      assert.are.equal(1, report.value.queried)
      assert.are.equal(asked + 1, s:stats().requests[STATUS])
      -- the Transaction Status result goes to the same nginx handler
      local paid = wait_state("ngx-qt-1", "paid")
      assert.is_string(paid.receipt)
      assert.are.equal(1, s:stats().sendsByOcid[ocid])
      -- final: the next round asks nothing
      assert.are.equal(0, ledger("reconcile").value.queried)
      no_severe_log()
    end)

    it("records a refusal as failed, and retries it as a new attempt only then", function()
      local got = ledger("pay?reference=ngx-fail-1&phone=254700000001")
      assert.is_true(got.ok, json.encode(got))
      local failed = wait_state("ngx-fail-1", "failed")
      assert.are.equal("1", failed.resultCode)
      got = ledger("retry?id=" .. failed.id)
      assert.is_true(got.ok, json.encode(got))
      assert.are.equal("created", got.value.state)
      assert.are.equal(failed.id, got.value.previousId)
      got = ledger("retry?id=" .. failed.id)
      assert.is_false(got.ok)
      assert.are.equal("id", got.err.field)
    end)

    it("keeps a result for an unknown OCID, refuses an unreadable one, and lists and counts", function()
      local before = ledger("stats").value.unmatchedCallbacks
      local body = files.must("spec/fixtures/daraja/b2c_result_success_docs_v3.json")
      local res = assert(n:request("POST", "/ledger/result", body))
      assert.are.equal(200, res.status, res.body)
      assert.are.equal(before + 1, ledger("stats").value.unmatchedCallbacks)
      res = assert(n:request("POST", "/ledger/result", "{not json"))
      assert.are.equal(400, res.status, res.body)
      -- not recorded (the ledger cannot be opened): 500, so that Daraja delivers it again
      local mark = #n:errorLog()
      res = assert(n:request("POST", "/ledger/result-unopenable", body))
      assert.are.equal(500, res.status, res.body)
      assert.matches("callback not recorded: ledger: cannot open", n:errorLog():sub(mark + 1))

      local stats = ledger("stats").value
      assert.is_true(stats.byState.paid >= 31, json.encode(stats))
      local list = ledger("list?state=unknown")
      assert.is_true(list.ok, json.encode(list))
      assert.are.equal(0, #list.value)
      local paid = #ledger("list?state=paid").value
      assert.is_true(paid >= 31, paid .. " paid")
    end)

    -- The killed workers leave an [alert] in the error log: no later test looks at it.
    it("keeps a payout whose worker was killed mid-send: reconciled to paid, sent once", function()
      s:config({ fault = { spec = "delay=2", count = 1, path = PAYMENT } })
      local sent = s:stats().requests[PAYMENT]
      local c = socket.tcp()
      c:settimeout(5)
      assert(c:connect("127.0.0.1", n.port))
      -- no result callback for this number: only a reconcile can settle it
      assert(c:send("GET /ledger/pay?reference=ngx-killed-1&phone=254700009002 HTTP/1.1\r\n"
        .. "Host: 127.0.0.1\r\nConnection: close\r\n\r\n"))
      local deadline = socket.gettime() + 10
      while s:stats().requests[PAYMENT] == sent and socket.gettime() < deadline do socket.sleep(0.02) end
      assert.are.equal(sent + 1, s:stats().requests[PAYMENT])   -- the simulator holds it
      local before = n:workerPids()
      for _, pid in ipairs(before) do os.execute("kill -KILL " .. pid) end
      c:close()
      -- the master starts new workers
      local respawned
      repeat
        socket.sleep(0.05)
        local now = n:workerPids()
        respawned = #now == 2 and now[1] ~= before[1] and now[1] ~= before[2]
          and now[2] ~= before[1] and now[2] ~= before[2]
      until respawned or socket.gettime() > deadline + 10
      assert.is_true(respawned, "workers before " .. table.concat(before, ",") .. ", now "
        .. table.concat(n:workerPids(), ","))
      local row = wait_state("ngx-killed-1", "submitted")   -- committed before it left
      local report = ledger("reconcile?overdue=0")
      assert.is_true(report.ok, json.encode(report))
      assert.are.equal(1, report.value.queried)
      wait_state("ngx-killed-1", "paid")
      assert.are.equal(1, s:stats().sendsByOcid[row.originatorConversationId])
    end)

    it("answers nil for a payout it does not know, and raises on misuse before the pool", function()
      local got = ledger("get?key=ngx-no-such-reference")
      assert.is_false(got.ok)
      assert.is_nil(got.err)
      got = ledger("misuse")
      assert.matches("ledger:pay: expected %(payout table", got.raised)
    end)
  end)
end
