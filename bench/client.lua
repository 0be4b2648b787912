-- The b2c side of `make bench`, one measurement per process (started by
-- bench/run.lua). Prints "key value" lines.
--
--   client.lua body                       the JSON body a send POSTs (for raw_libcurl)
--   client.lua sends URL N [CA_FILE]      N sequential mpesa.b2c.send, timed
--   client.lua posts URL N                N sequential posts through the C core
--                                         alone (one prebuilt body): no Lua layer
--   client.lua memory URL N1 N2           RSS after warm-up, after N1 and after N2 sends
--   client.lua batch URL N CONCURRENCY    one sendBatch of N payouts, timed
--   client.lua parse FIXTURE ITERATIONS ROUNDS
--                                         cjson.decode vs parseDarajaResult + map
local b2c = require("b2c")
local core = require("b2c.core")

local mode = arg[1]

-- A credential of the real size (base64 of RSA-2048: 344 characters), given
-- as is: no RSA work at startup.
local CREDENTIAL = string.rep("QmVuY2hDcmVkZW50aWFs", 18):sub(1, 342) .. "=="

local function client(url, ca_file)
  return assert(b2c.new{
    consumerKey = "bench-key", consumerSecret = "bench-secret",
    shortCode = "600996", initiatorName = "testapi", securityCredential = CREDENTIAL,
    resultUrl = "https://example.com/mpesa/b2c/result",
    queueTimeOutUrl = "https://example.com/mpesa/b2c/timeout",
    baseUrl = url, caFile = ca_file,
  })
end

-- One payout's fields, with the OriginatorConversationID of the canned
-- nginx answer (bench/run.lua): the SDK refuses an acknowledgement that names
-- another payout, and nginx cannot echo the one sent.
local CANNED_OCID = "600997_Test_32et3241ed8yu"
local function payout_fields()
  return { recipientPhone = "0712345678", amount = 500, remarks = "Bench payout",
           occasion = "Benchmark", originatorConversationId = CANNED_OCID }
end

local function out(key, value)
  io.write(key, " ", tostring(value), "\n")
end

local function rss()
  local f = assert(io.open("/proc/self/status", "r"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")), tonumber(s:match("VmHWM:%s*(%d+)"))
end

local function send_many(mpesa, n)
  local failed = 0
  local send = mpesa.b2c.send
  for _ = 1, n do
    local ack = send(payout_fields())
    if not ack or ack.ResponseCode ~= "0" then failed = failed + 1 end
  end
  return failed
end

if mode == "body" then
  -- What the core POSTs: SecurityCredential first, then the encoded fields.
  local payout = require("b2c.operations.b2c")
  local json = require("b2c.json")
  local fields = assert(payout.build(client("http://127.0.0.1:1"), payout_fields()))
  local text = json.encode(fields)
  io.write('{"SecurityCredential":"', CREDENTIAL, '",', text:sub(2))

elseif mode == "sends" then
  local mpesa = client(arg[2], arg[4])
  local n = assert(tonumber(arg[3]))
  assert(send_many(mpesa, 200) == 0, "warm-up sends failed") -- token, connection, JIT-free warm-up
  local wall0, cpu0 = core.now(), os.clock()
  local failed = send_many(mpesa, n)
  local cpu, wall = os.clock() - cpu0, core.now() - wall0
  out("sends", n); out("wall", wall); out("cpu", cpu); out("failed", failed)
  mpesa:close()

elseif mode == "posts" then
  -- The C binding without the Lua layer (checks, JSON, answer to ack):
  -- where the time of a send goes.
  local mpesa = client(arg[2])
  local n = assert(tonumber(arg[3]))
  local payout = require("b2c.operations.b2c")
  local json = require("b2c.json")
  local text = json.encode((assert(payout.build(mpesa, payout_fields()))))
  assert(send_many(mpesa, 200) == 0, "warm-up sends failed")
  local c, path = mpesa.core, "/mpesa/b2c/v3/paymentrequest"
  local failed = 0
  local wall0, cpu0 = core.now(), os.clock()
  for _ = 1, n do
    local status = c:post(path, text, true)
    if status ~= 200 then failed = failed + 1 end
  end
  local cpu, wall = os.clock() - cpu0, core.now() - wall0
  out("sends", n); out("wall", wall); out("cpu", cpu); out("failed", failed)
  mpesa:close()

elseif mode == "memory" then
  local mpesa = client(arg[2])
  local n1, n2 = assert(tonumber(arg[3])), assert(tonumber(arg[4]))
  local wall0 = core.now()
  local failed = send_many(mpesa, 1000)
  out("rss_warm", (rss()))
  failed = failed + send_many(mpesa, n1 - 1000)
  out("rss_n1", (rss()))
  failed = failed + send_many(mpesa, n2 - n1)
  local now_rss, hwm = rss()
  out("rss_n2", now_rss); out("hwm", hwm)
  out("lua_kb", math.floor(collectgarbage("count")))
  out("wall", core.now() - wall0); out("failed", failed)
  mpesa:close()

elseif mode == "batch" then
  local mpesa = client(arg[2])
  local n, concurrency = assert(tonumber(arg[3])), assert(tonumber(arg[4]))
  assert(mpesa.b2c.send(payout_fields()), "warm-up send failed") -- the token, once
  local payouts = {}
  for i = 1, n do payouts[i] = payout_fields() end
  local wall0, cpu0 = core.now(), os.clock()
  local report = mpesa.b2c.sendBatch(payouts, { concurrency = concurrency, keepResults = false })
  local wall, cpu = core.now() - wall0, os.clock() - cpu0
  out("total", report.total); out("accepted", report.accepted)
  out("seconds", report.seconds); out("wall", wall); out("cpu", cpu)
  mpesa:close()

elseif mode == "parse" then
  local cjson = require("cjson")
  local f = assert(io.open(arg[2], "rb"))
  local text = f:read("a")
  f:close()
  local iterations, rounds = assert(tonumber(arg[3])), assert(tonumber(arg[4]))
  local parse, map = b2c.parseDarajaResult, b2c.getResultParametersMap
  -- The same answer both ways, once, before timing.
  local check = map(assert(parse(text)))
  assert(check.TransactionReceipt == "SG632NMUAB" and check.TransactionAmount == 10)
  local decode = cjson.decode
  local function bare()
    for _ = 1, iterations do
      local doc = decode(text)
      if doc.Result == nil then error("bad decode") end
    end
  end
  local function ours()
    for _ = 1, iterations do
      local r = parse(text)
      if map(r).TransactionReceipt == nil then error("bad parse") end
    end
  end
  bare(); ours() -- warm-up
  -- Alternated, so a slow moment of the machine hits both.
  for round = 1, rounds do
    collectgarbage()
    local t0 = os.clock(); bare(); local t1 = os.clock()
    collectgarbage()
    local t2 = os.clock(); ours(); local t3 = os.clock()
    out("round" .. round, string.format("%.9f %.9f", (t1 - t0) / iterations, (t3 - t2) / iterations))
  end

else
  io.stderr:write("usage: client.lua body|sends|posts|memory|batch|parse ...\n")
  os.exit(2)
end
