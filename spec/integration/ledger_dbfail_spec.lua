-- The database going away in the middle of a ledger:payBatch of a few
-- hundred payouts against the simulator: PostgreSQL stopped (pg_ctl stop
-- -m immediate) while the batch runs, and SQLite full (a real SQLITE_FULL:
-- the file may not grow). The batch ends by itself with nil, err of kind
-- "ledger" naming the cause; nothing was sent whose row was not durable
-- first; nothing is sent after it returned; after the restart every row is
-- in a known or reconcilable state and no payout was sent twice.
local b2c = require("b2c")
local ledger = require("b2c.ledger")
local postgres = require("support.postgres")
local sim = require("support.sim")
local socket = require("socket")
local files = require("support.files")
local process = require("support.process")

local COUNT = 300
local PAY_PATH = "/mpesa/b2c/v3/paymentrequest"

describe("b2c.ledger when the database goes away mid-batch", function()
  local s, dir
  local children = process.group()

  setup(function()
    -- the worker processes pay with the default consumer key
    s = sim.start({ consumerKey = sim.DEFAULTS.consumerKey, callbackAttempts = 1, callbackDelay = 0.01 })
    dir = files.tempdir()
  end)
  teardown(function()
    children:kill()
    if s then s:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  local function spawn_batch(url, out, mode)
    return children:spawn(string.format("lua5.4 spec/support/ledger_batch.lua %s %s %s %d 8 %s "
      .. ">%s 2>&1", url, s.url, s.certificate, COUNT, mode or "", out))
  end

  local function total_sends()
    local n = 0
    for _, c in pairs(s:stats().sendsByOcid) do n = n + c end
    return n
  end

  -- The batch's printed outcome: { kind, left, unsent, cause, message }.
  local function outcome(out)
    local text = files.read(out) or ""
    assert.matches("\nend\n", text, nil, true)
    return {
      kind = text:match("kind=(%S+)"), left = tonumber(text:match("left=(%d+)")),
      unsent = tonumber(text:match("unsent=(%d+)")), cause = text:match("cause=([^\n]*)"),
      message = text:match("message=([^\n]*)"), text = text,
    }
  end

  -- After the restart: every payout the simulator received has a row that
  -- was committed as submitted before it left, each was received once, a
  -- payout with no row (or a created one) never left, and every open row
  -- is reconcilable.
  local function check_rows(url, r)
    local book = assert(ledger.open(url))
    local rows = assert(book.store:rows("SELECT ocid, state FROM payouts"))
    local sends = s:stats().sendsByOcid
    local by_ocid, created, open = {}, 0, 0
    for _, row in ipairs(rows) do
      by_ocid[row.ocid] = row
      if row.state == "created" then
        created = created + 1
        assert.is_nil(sends[row.ocid], "a created row was sent")
      elseif row.state == "submitted" or row.state == "accepted" or row.state == "unknown" then
        open = open + 1
      else
        assert.are.equal("failed", row.state)
      end
    end
    local sent = 0
    for ocid, n in pairs(sends) do
      assert.are.equal(1, n, ocid .. " sent twice")
      assert.is_truthy(by_ocid[ocid], ocid .. " sent without a row")
      assert.are_not.equal("created", by_ocid[ocid].state)
      sent = sent + 1
    end
    -- what left is what the batch reported: nothing left behind its back
    assert.are.equal(r.left, sent)
    local unstored = COUNT - #rows
    assert.is_true(unstored + created > 0, "the failure came after the batch had ended")
    assert.is_true(sent > 0, "the failure came before anything was sent")
    -- every open row is reconcilable: a Transaction Status query goes out for it
    local mpesa = assert(b2c.new(s:settings({ resultUrl = "http://127.0.0.1:9/result",
      queueTimeOutUrl = "http://127.0.0.1:9/t", timeout = 10 })))
    local report = assert(book:reconcile(mpesa, { overdue = 0, delay = 0, limit = COUNT }))
    assert.are.equal(open, report.queried)
    mpesa:close()
    book:close()
    return sent, unstored + created
  end

  it("PostgreSQL stopped mid-batch: the batch stops with a ledger error, nothing unrecorded left", function()
    postgres.with("PostgreSQL database-failure spec", function(pg)
      pg:createdb("gone")
      local url = pg:url("gone")
      s:reset()
      -- 100 ms per payout, 8 at once: the batch takes a few seconds
      s:config({ fault = { spec = "delay=0.1", path = PAY_PATH } })
      local out = dir .. "/pg.out"
      local pid = spawn_batch(url, out)
      local deadline = socket.gettime() + 60
      while total_sends() < 40 and process.alive(pid) and socket.gettime() < deadline do
        socket.sleep(0.05)
      end
      pg:halt()
      assert.is_true(children:finish(pid, 60), "the batch hung after the server stopped")
      local r = outcome(out)
      assert.are.equal("ledger", r.kind, r.text)
      assert.matches("the database failed during the batch", r.message)
      assert.is_true(#r.cause > 0)
      -- nothing leaves once the batch has returned
      local after = total_sends()
      socket.sleep(0.5)
      assert.are.equal(after, total_sends())
      s:config({ fault = false })
      assert(pg:resume())
      local sent, created = check_rows(url, r)
      print(string.format("PostgreSQL stopped mid-batch: %d of %d sent, %d never left; cause: %s",
        sent, COUNT, created, r.cause))
    end)
  end)

  it("SQLite full mid-batch (SQLITE_FULL): the batch stops with a ledger error, nothing unrecorded left", function()
    local url = "sqlite://" .. dir .. "/full.db"
    s:reset()
    s:config({ fault = { spec = "delay=0.02", path = PAY_PATH } })
    local out = dir .. "/full.out"
    local pid = spawn_batch(url, out, "full")
    assert.is_true(children:finish(pid, 60), "the batch hung on a full database")
    s:config({ fault = false })
    local r = outcome(out)
    assert.are.equal("ledger", r.kind, r.text)
    assert.matches("full", r.cause)
    assert.matches("the database failed during the batch %(.*full", r.message)
    local sent, created = check_rows(url, r)
    print(string.format("SQLite full mid-batch: %d of %d sent, %d never left; cause: %s",
      sent, COUNT, created, r.cause))
  end)
end)
