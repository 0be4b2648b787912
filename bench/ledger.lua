-- The cost of the ledger (SQLite, WAL, synchronous=FULL) against the bare
-- calls, on the simulator over loopback. Not a test: it prints what it saw.
--   LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" LUA_CPATH="build/?.so;;" lua5.4 bench/ledger.lua
-- BENCH_SEQ (default 300) sequential payouts each way; BENCH_BATCH (default
-- 1000) payouts per batch at BENCH_LATENCY seconds (default 0.05) per answer,
-- concurrency 64. BENCH_PG=1: on a PostgreSQL 15 started for the run.
local b2c = require("b2c")
local ledger = require("b2c.ledger")
local sim = require("support.sim")
local socket = require("socket")

local SEQ = tonumber(os.getenv("BENCH_SEQ") or "300")
local BATCH = tonumber(os.getenv("BENCH_BATCH") or "1000")
local LATENCY = tonumber(os.getenv("BENCH_LATENCY") or "0.05")

local s = sim.start({ callbackAttempts = 1, callbackDelay = 0.01 })
local dir = io.popen("mktemp -d"):read("*l")
local mpesa = assert(b2c.new({
  consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
  initiatorName = "testapi", initiatorPassword = s.initiatorPassword, certificate = s.certificate,
  baseUrl = s.url, resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/t",
  timeout = 30,
}))
local pg = os.getenv("BENCH_PG") == "1" and assert(require("support.postgres").start())
local url = "sqlite://" .. dir .. "/ledger.db"
if pg then
  pg:createdb("bench")
  url = pg:url("bench")
end
print("ledger: " .. (pg and "PostgreSQL" or "SQLite"))
local book = assert(ledger.open(url))

local function payout(i, tag)
  return { recipientPhone = "0708374149", amount = 100, remarks = "Bench",
    reference = tag .. "-" .. i }
end

local function timed(fn)
  local t = socket.gettime()
  fn()
  return socket.gettime() - t
end

assert(mpesa.b2c.send({ recipientPhone = "0708374149", amount = 100, remarks = "warm up" }))
local bare = timed(function()
  for i = 1, SEQ do
    local p = payout(i, "bare")
    p.reference = nil
    assert(mpesa.b2c.send(p))
  end
end)
local booked = timed(function()
  for i = 1, SEQ do assert(book:pay(mpesa, payout(i, "seq"))) end
end)
print(string.format("sequential, %d payouts: mpesa.b2c.send %.2f ms each, ledger:pay %.2f ms each "
  .. "(+%.2f ms, %.2fx)", SEQ, bare / SEQ * 1000, booked / SEQ * 1000, (booked - bare) / SEQ * 1000,
  booked / bare))

s:config({ fault = { spec = "delay=" .. LATENCY, path = "/mpesa/b2c/v3/paymentrequest" } })
local list = {}
for i = 1, BATCH do list[i] = payout(i, "bare-batch") end
local plain = {}
for i = 1, BATCH do
  plain[i] = payout(i, "plain")
  plain[i].reference = nil
end
local t_plain = timed(function() assert(mpesa.b2c.sendBatch(plain, { concurrency = 64 })) end)
local t_book = timed(function() assert(book:payBatch(mpesa, list, { concurrency = 64 })) end)
print(string.format("batch of %d at %.0f ms, concurrency 64: sendBatch %.2f s, ledger:payBatch %.2f s "
  .. "(%.2fx)", BATCH, LATENCY * 1000, t_plain, t_book, t_book / t_plain))

book:close()
mpesa:close()
s:stop()
if pg then pg:stop() end
os.execute("rm -rf '" .. dir .. "'")
