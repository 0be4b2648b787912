-- The cost of the payout ledger against the bare calls, on the simulator
-- over loopback, on SQLite (WAL, synchronous=FULL) and on a PostgreSQL 15
-- this run starts and stops itself (spec/support/postgres.lua; skipped when
-- PostgreSQL is not installed). Not a test: it prints what it saw.
--   make bench, or
--   LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" LUA_CPATH="build/?.so;;" lua5.4 bench/ledger.lua
-- BENCH_SEQ (default 300) sequential payouts each way; BENCH_BATCH (default
-- 5000) payouts per batch at BENCH_LATENCY seconds (default 0.05) per
-- answer, concurrency BENCH_CONCURRENCY (default 64). Each batch runs twice
-- each way, alternating (bare, ledger, ledger, bare): the ratio is of the sums;
-- the CPU this process spent is printed beside it (the wall ratio swings with
-- the machine's load, the CPU much less). BENCH_CALLBACKS (default 300):
-- payouts accepted in one batch, then their results applied one by one.
local b2c = require("b2c")
local ledger = require("b2c.ledger")
local postgres = require("support.postgres")
local sim = require("support.sim")
local socket = require("socket")
local files = require("support.files")

local SEQ = tonumber(os.getenv("BENCH_SEQ") or "300")
local BATCH = tonumber(os.getenv("BENCH_BATCH") or "5000")
local LATENCY = tonumber(os.getenv("BENCH_LATENCY") or "0.05")
local CONCURRENCY = tonumber(os.getenv("BENCH_CONCURRENCY") or "64")
local CALLBACKS = tonumber(os.getenv("BENCH_CALLBACKS") or "300")
local PAY_PATH = "/mpesa/b2c/v3/paymentrequest"

local s = sim.start({ callbackAttempts = 1, callbackDelay = 0.01 })
local dir = files.tempdir()
local mpesa = assert(b2c.new({
  consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
  initiatorName = "testapi", initiatorPassword = s.initiatorPassword, certificate = s.certificate,
  baseUrl = s.url, resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/t",
  timeout = 30,
}))

-- Wall seconds of fn(); the CPU seconds this process spent are added to cpu[1].
local function timed(fn, cpu)
  local t, c = socket.gettime(), os.clock()
  fn()
  if cpu then cpu[1] = cpu[1] + os.clock() - c end
  return socket.gettime() - t
end

local function payouts(n, tag)
  local list = {}
  for i = 1, n do
    list[i] = { recipientPhone = "0708374149", amount = 100, remarks = "Bench",
      reference = tag and (tag .. "-" .. i) or nil }
  end
  return list
end

-- A payout's result: paid, with a receipt of its own.
local function paid_result(p, i)
  return { Result = { ResultType = 0, ResultCode = 0, ResultDesc = "Processed",
    OriginatorConversationID = p.originatorConversationId, ConversationID = p.conversationId,
    TransactionID = string.format("BR%08d", i), ResultParameters = { ResultParameter = {
      { Key = "TransactionReceipt", Value = string.format("BR%08d", i) } } } } }
end

-- Callbacks applied per second: CALLBACKS payouts accepted (one payBatch),
-- then the result of each applied in turn (ledger:applyResult).
local function apply_rate(name, book)
  s:reset()
  s:config({ fault = false })
  local report = assert(book:payBatch(mpesa, payouts(CALLBACKS, "cb"), { concurrency = CONCURRENCY }))
  local bodies = {}
  for i, p in ipairs(report.payouts) do bodies[i] = paid_result(p, i) end
  local took = timed(function()
    for _, body in ipairs(bodies) do assert(assert(book:applyResult(body)).applied == "paid") end
  end)
  print(string.format("%-10s callbacks, %d results applied in turn: %.0f per second (%.2f ms each)",
    name, CALLBACKS, CALLBACKS / took, took / CALLBACKS * 1000))
end

local function bench(name, url)
  local book = assert(ledger.open(url))
  s:reset()
  s:config({ fault = false })
  assert(mpesa.b2c.send({ recipientPhone = "0708374149", amount = 100, remarks = "warm up" }))
  local bare = timed(function()
    for _, p in ipairs(payouts(SEQ)) do assert(mpesa.b2c.send(p)) end
  end)
  local booked = timed(function()
    for _, p in ipairs(payouts(SEQ, "seq")) do assert(book:pay(mpesa, p)) end
  end)
  print(string.format("%-10s sequential, %d payouts: mpesa.b2c.send %.2f ms each, ledger:pay %.2f ms "
    .. "each (+%.2f ms per payout)", name, SEQ, bare / SEQ * 1000, booked / SEQ * 1000,
    (booked - bare) / SEQ * 1000))

  s:reset()
  s:config({ fault = { spec = "delay=" .. LATENCY, path = PAY_PATH } })
  local options = { concurrency = CONCURRENCY }
  local plain, with, plain_cpu, with_cpu = {}, {}, { 0 }, { 0 }
  plain[1] = timed(function() assert(mpesa.b2c.sendBatch(payouts(BATCH), options)) end, plain_cpu)
  with[1] = timed(function() assert(book:payBatch(mpesa, payouts(BATCH, "a"), options)) end, with_cpu)
  with[2] = timed(function() assert(book:payBatch(mpesa, payouts(BATCH, "b"), options)) end, with_cpu)
  plain[2] = timed(function() assert(mpesa.b2c.sendBatch(payouts(BATCH), options)) end, plain_cpu)
  print(string.format("%-10s batch of %d at %.0f ms, concurrency %d: sendBatch %.2f s + %.2f s, "
    .. "ledger:payBatch %.2f s + %.2f s (%.2fx); this process's CPU %.2f s vs %.2f s", name, BATCH,
    LATENCY * 1000, CONCURRENCY, plain[1], plain[2], with[1], with[2],
    (with[1] + with[2]) / (plain[1] + plain[2]), plain_cpu[1], with_cpu[1]))
  apply_rate(name, book)
  book:close()
end

local ok, err = pcall(function()
  if pcall(require, "luasql.sqlite3") then
    bench("SQLite", "sqlite://" .. dir .. "/ledger.db")
  else
    print("SQLite     skipped: no luasql.sqlite3 (lua-sql-sqlite3)")
  end
  local pg, why = postgres.start()
  if not pg then
    print("PostgreSQL skipped: " .. why)
    return
  end
  local fine, perr = pcall(function()
    pg:createdb("bench")
    bench("PostgreSQL", pg:url("bench"))
  end)
  pg:stop()
  assert(fine, perr)
end)
mpesa:close()
s:stop()
os.execute("rm -rf '" .. dir .. "'")
assert(ok, err)
