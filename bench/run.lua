-- `make bench`: b2c against local servers on 127.0.0.1, beside the floors
-- (raw libcurl, bare cjson.decode, Node.js), measured in one run and
-- reported as min / median / max over rounds and as ratios. Not a test:
-- nothing here fails on a slow machine; it prints what it saw.
--
-- Run from the repository root (make bench does):
--   LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" LUA_CPATH="build/?.so;;" lua5.4 bench/run.lua
-- The nginx comes from spec/support/nginx.lua (its own prefix in /tmp, a
-- generated nginx.conf, free loopback ports, stopped at the end).
-- BENCH_QUICK=1: fewer rounds and sends, to try the harness quickly.
local nginx = require("support.nginx")
local core = require("b2c.core")

local LUA = os.getenv("LUA") or "lua5.4"
local NODE = os.getenv("NODE") or "node"
local LUAJIT = os.getenv("LUAJIT") or "luajit"  -- rows for LuaJIT too, when it is there
local RAW = os.getenv("RAW_LIBCURL") or "build/bench/raw_libcurl"
local OUT = os.getenv("BENCH_OUT") or "build/bench/results.txt"
local QUICK = os.getenv("BENCH_QUICK") == "1"

-- Rounds alternate the contenders (each round starting with the next one),
-- so that a slow moment of this shared machine hits them all: the ratios
-- of neighbouring runs are what to read.
local SEQ_SENDS, SEQ_ROUNDS = QUICK and 1000 or 3000, QUICK and 2 or 12
local TLS_SENDS, TLS_ROUNDS = QUICK and 500 or 3000, QUICK and 1 or 3
local BATCH_SIZE, BATCH_CONCURRENCY, BATCH_LATENCY, BATCH_ROUNDS = 5000, 64, 0.05, QUICK and 1 or 3
local PARSE_ITERATIONS, PARSE_ROUNDS = QUICK and 5000 or 20000, QUICK and 2 or 5
local MEM_N1, MEM_N2 = 10000, QUICK and 20000 or 100000
local FIXTURE = "spec/fixtures/daraja/b2c_result_success_docs_v3.json"
local CA_FILE = "spec/fixtures/tls/ca.pem"

local TOKEN_JSON = '{"access_token":"benchToken0123456789abcdef","expires_in":"3599"}'
local ACK_JSON = '{"ConversationID":"AG_20240706_20106e9209f64bebd05b",'
  .. '"OriginatorConversationID":"600997_Test_32et3241ed8yu","ResponseCode":"0",'
  .. '"ResponseDescription":"Accept the service request successfully."}'

---------------------------------------------------------------------------
-- helpers
---------------------------------------------------------------------------

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local read_file = require("support.files").read

local function capture(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local s = p:read("a")
  local ok = p:close()
  return s, ok
end

-- Sequential round trips (sections 1 and 2) run with the client on CPU 0
-- and nginx on CPU 1, when there are two and taskset: where the scheduler
-- happened to place a short-lived client beside nginx changed a round trip
-- by up to 2x, for every contender alike but not at once. The batch runs
-- unpinned (nginx needs both CPUs for 64 connections). BENCH_PIN=0: never.
local PIN = os.getenv("BENCH_PIN") ~= "0" and tonumber((capture("nproc"))) >= 2
  and select(2, capture("command -v taskset"))
local client_prefix = ""

local function pin(n, on)
  if not PIN then return end
  client_prefix = on and "taskset -c 0 " or ""
  assert(os.execute(string.format("for p in %d $(pgrep -P %d); do taskset -pc %s $p >/dev/null; done",
    n.pid, n.pid, on and "1" or "0-1")), "bench: could not set nginx's CPUs")
end

-- Runs a child that prints "key value" lines; fails loudly otherwise.
local function run_kv(cmd, env)
  local text, ok = capture((env or "") .. " " .. client_prefix .. cmd)
  local kv = {}
  for k, v in text:gmatch("(%S+) ([^\n]*)") do kv[k] = tonumber(v) or v end
  if not ok then error("bench: failed: " .. cmd .. "\n" .. text, 2) end
  return kv
end

local function stats(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local n = #s
  local median = n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
  return { min = s[1], median = median, max = s[n], n = n }
end

local lines = {}
local function say(fmt, ...)
  local line = string.format(fmt, ...)
  lines[#lines + 1] = line
  io.write(line, "\n")
  io.flush()
end

-- One table row: a label and min / median / max in a format.
local function row(label, list, fmt)
  local s = stats(list)
  fmt = fmt or "%.0f"
  say("  %-52s %9s %9s %9s", label, string.format(fmt, s.min), string.format(fmt, s.median),
    string.format(fmt, s.max))
  return s
end

local function header(title, no_columns)
  say("")
  say("%s", title)
  if no_columns then return end
  say("  %-52s %9s %9s %9s", "", "min", "median", "max")
end

local function verdict(value, target, higher_is_better)
  local met
  if higher_is_better then met = value >= target else met = value <= target end
  return met and "met" or "MISSED"
end

---------------------------------------------------------------------------
-- the machine
---------------------------------------------------------------------------

local function machine()
  local cpuinfo = read_file("/proc/cpuinfo") or ""
  local model = cpuinfo:match("model name%s*:%s*([^\n]+)") or "?"
  local nproc = (capture("nproc")):gsub("%s+$", "")
  local kernel = (capture("uname -r")):gsub("%s+$", "")
  local mem = tonumber((read_file("/proc/meminfo") or ""):match("MemTotal:%s*(%d+)")) or 0
  local nginx_v = (capture("nginx -v")):match("nginx/(%S+)") or "?"
  local node_v = (capture(NODE .. " --version")):gsub("%s+$", "")
  local lua_v = (capture(LUA .. " -v")):match("Lua (%S+)") or "?"
  local load = (read_file("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)") or "?"
  return string.format("%s x %s, %.0f GB RAM, Linux %s, load %s\n"
    .. "  Lua %s, libcurl %s (%s), nginx %s (1 worker), Node.js %s",
    nproc, model, mem / 1048576, kernel, load, lua_v, core.curlVersion,
    core.sslVersion, nginx_v, node_v)
end

---------------------------------------------------------------------------
-- the servers
---------------------------------------------------------------------------

local function canned_locations()
  return string.format([[
    location = /oauth/v1/generate { return 200 '%s'; }
    location = /mpesa/b2c/v3/paymentrequest { return 200 '%s'; }
]], TOKEN_JSON, ACK_JSON)
end

local function start_servers()
  local cwd = (capture("pwd")):gsub("%s+$", "")
  local tls_port, slow_port = nginx.free_port(), nginx.free_port()
  -- `return` answers without reading the body itself; nginx then discards
  -- the body and keeps the connection (checked below with stub_status).
  local http = string.format([=[
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  log_format bench '$connection $connection_requests $ssl_session_reused $request_length';
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s/spec/fixtures/tls/server-cert.pem;
    ssl_certificate_key %s/spec/fixtures/tls/server-key.pem;
    default_type application/json;
    access_log tls-access.log bench;
%s  }
  server {
    listen 127.0.0.1:%d;
    default_type application/json;
    location = /oauth/v1/generate { return 200 '%s'; }
    location = /mpesa/b2c/v3/paymentrequest {
      content_by_lua_block {
        ngx.req.read_body()
        ngx.sleep(%s)
        ngx.print([[%s]])
      }
    }
  }
]=], tls_port, cwd, cwd, canned_locations(), slow_port, TOKEN_JSON, tostring(BATCH_LATENCY),
    ACK_JSON)
  local server = canned_locations() .. "    location = /status { stub_status; }\n"
  local n = nginx.start{ workers = 1, threads = 1, http = http, server = server }
  n.tls_url = "https://localhost:" .. tls_port
  n.slow_url = "http://127.0.0.1:" .. slow_port
  return n
end

-- Connections nginx has accepted so far (stub_status), the one this
-- question opens included.
local function accepted(n)
  local res = assert(n:request("GET", "/status"))
  return tonumber(res.body:match("\n%s*(%d+)%s+%d+%s+%d+"))
end

-- Connections opened since `before` (an accepted() value), without the
-- one the second question opens.
local function opened_since(n, before)
  return accepted(n) - before - 1
end

-- The TLS access log from byte `offset`: requests, connections (distinct
-- $connection), handshakes (requests that were the first on their
-- connection: each such connection did one TLS handshake), of which
-- abbreviated (session reused).
local function tls_log(n, offset)
  local text = read_file(n.prefix .. "/tls-access.log") or ""
  local requests, conns, handshakes, reused = 0, {}, 0, 0
  for c, cr, r in text:sub(offset + 1):gmatch("(%d+) (%d+) (%S+) %d+\n") do
    requests = requests + 1
    conns[c] = true
    if cr == "1" then
      handshakes = handshakes + 1
      if r == "r" then reused = reused + 1 end
    end
  end
  local distinct = 0
  for _ in pairs(conns) do distinct = distinct + 1 end
  return { requests = requests, connections = distinct, handshakes = handshakes, reused = reused,
    size = #text }
end

---------------------------------------------------------------------------
-- the measurements
---------------------------------------------------------------------------

local CHILD_ENV = 'LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/?.so;;"'
local JIT_ENV = 'LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/jit/?.so;;"'
local LUA_VERSION = (capture(LUA .. " -v")):match("Lua (%S+)") or LUA
local HAVE_JIT = select(2, capture("command -v " .. LUAJIT)) and read_file("build/jit/b2c/core.so")
local USER_AGENT = "b2c-lua/" .. core.version .. " libcurl/" .. core.curlVersion
local BODY_FILE = "build/bench/body.json"

local function b2c_sends(url, n, ca_file, jit)
  return run_kv(string.format("%s bench/client.lua sends %s %d %s", jit and LUAJIT or LUA,
    sh_quote(url), n, ca_file and sh_quote(ca_file) or ""), jit and JIT_ENV or CHILD_ENV)
end

local function raw_sends(url, n, ca_file)
  return run_kv(string.format("%s %s %d %s %s %s", RAW, sh_quote(url), n, BODY_FILE,
    sh_quote(USER_AGENT), ca_file and sh_quote(ca_file) or ""))
end

local function core_posts(url, n)
  return run_kv(string.format("%s bench/client.lua posts %s %d", LUA, sh_quote(url), n), CHILD_ENV)
end

local function rate(r) return r.sends / r.wall end

-- f(result, round) for each round's result: one column of a table row.
local function col(list, f)
  local out = {}
  for i, r in ipairs(list) do out[i] = f(r, i) end
  return out
end
local function cpu_us(r) return r.cpu / r.sends * 1e6 end

local function sequential(n)
  header(string.format("1. Sequential sends, HTTP keep-alive, canned nginx (%d rounds x %d sends)",
    SEQ_ROUNDS, SEQ_SENDS))
  local raw, posts, ours, jit = {}, {}, {}, {}
  local before = accepted(n)
  local contenders = {
    function(r) raw[r] = raw_sends(n.url, SEQ_SENDS) end,
    function(r) posts[r] = core_posts(n.url, SEQ_SENDS) end,
    function(r) ours[r] = b2c_sends(n.url, SEQ_SENDS) end,
  }
  if HAVE_JIT then
    contenders[4] = function(r) jit[r] = b2c_sends(n.url, SEQ_SENDS, nil, true) end
  end
  -- Alternated, so that a slow moment of the machine hits them all, and
  -- each round starts with the next contender: going first or after a
  -- given other one must not favour anyone.
  for r = 1, SEQ_ROUNDS do
    for k = 0, #contenders - 1 do contenders[(r + k) % #contenders + 1](r) end
  end
  local conns = opened_since(n, before)
  row("raw libcurl (floor): sends/s", col(raw, rate))
  row("raw libcurl (floor): CPU us/send", col(raw, cpu_us), "%.1f")
  row("b2c C core alone (client:post): sends/s", col(posts, rate))
  row("b2c C core alone (client:post): CPU us/send", col(posts, cpu_us), "%.1f")
  row("b2c mpesa.b2c.send: sends/s", col(ours, rate))
  row("b2c mpesa.b2c.send: CPU us/send", col(ours, cpu_us), "%.1f")
  local ratio = row("ratio b2c / raw libcurl, sends/s (per round)",
    col(ours, function(r, i) return rate(r) / rate(raw[i]) end), "%.2f")
  row("ratio b2c C core alone / raw libcurl, sends/s",
    col(posts, function(r, i) return rate(r) / rate(raw[i]) end), "%.2f")
  local cpu_ratio = row("ratio raw / b2c, CPU per send",
    col(ours, function(r, i) return cpu_us(raw[i]) / cpu_us(r) end), "%.2f")
  local jit_ratio
  if HAVE_JIT then
    row("b2c on LuaJIT: sends/s", col(jit, rate))
    row("b2c on LuaJIT: CPU us/send", col(jit, cpu_us), "%.1f")
    jit_ratio = row("ratio b2c on LuaJIT / raw libcurl, sends/s",
      col(jit, function(r, i) return rate(r) / rate(raw[i]) end), "%.2f")
  end
  local failed = 0
  local processes = 0
  for _, list in ipairs({ raw, posts, ours, jit }) do
    for _, r in ipairs(list) do failed, processes = failed + r.failed, processes + 1 end
  end
  say("  connections opened by %d processes: %d (keep-alive); failed sends: %d",
    processes, conns, failed)
  say("  target: b2c >= 0.80x raw libcurl sends/s -> median %.3fx on Lua %s: %s", ratio.median,
    LUA_VERSION, verdict(ratio.median, 0.8, true))
  if jit_ratio then
    say("          %41s %.3fx on LuaJIT: %s", "", jit_ratio.median,
      verdict(jit_ratio.median, 0.8, true))
  end
  return { ratio = ratio, cpu_ratio = cpu_ratio, jit_ratio = jit_ratio }
end

local function https(n)
  header(string.format("2. The same over HTTPS, self-signed CA (%d rounds x %d sends)",
    TLS_ROUNDS, TLS_SENDS))
  local raw, ours, logs = {}, {}, {}
  for _ = 1, TLS_ROUNDS do
    raw[#raw + 1] = raw_sends(n.tls_url, TLS_SENDS, CA_FILE)
    local offset = tls_log(n, 0).size
    ours[#ours + 1] = b2c_sends(n.tls_url, TLS_SENDS, CA_FILE)
    logs[#logs + 1] = tls_log(n, offset)
  end
  row("raw libcurl: sends/s", col(raw, rate))
  row("raw libcurl: CPU us/send", col(raw, cpu_us), "%.1f")
  row("b2c: sends/s", col(ours, rate))
  row("b2c: CPU us/send", col(ours, cpu_us), "%.1f")
  local ratio = row("ratio b2c / raw libcurl, sends/s", col(ours, function(r, i)
    return rate(r) / rate(raw[i]) end), "%.2f")
  for i, l in ipairs(logs) do
    say("  b2c process %d: %d requests (1 token + 200 warm-up + %d timed) on %d connection(s), "
      .. "%d TLS handshake(s)", i, l.requests, TLS_SENDS, l.connections, l.handshakes)
  end
  local max_hs = 0
  for _, l in ipairs(logs) do max_hs = math.max(max_hs, l.handshakes) end
  say("  target: TLS handshakes = connections, not sends -> %s",
    max_hs == 1 and "met (one handshake per client)" or "MISSED")
  return { ratio = ratio, handshakes = max_hs }
end

local function batch(n)
  local ideal = BATCH_SIZE * BATCH_LATENCY / BATCH_CONCURRENCY
  header(string.format("3. sendBatch: %d payouts, server latency %d ms, concurrency %d "
    .. "(%d rounds); ideal %.2f s", BATCH_SIZE, BATCH_LATENCY * 1000, BATCH_CONCURRENCY,
    BATCH_ROUNDS, ideal))
  local walls, cpus, ratios, accepted_all, conns = {}, {}, {}, 0, {}
  for _ = 1, BATCH_ROUNDS do
    local before = accepted(n)
    local r = run_kv(string.format("%s bench/client.lua batch %s %d %d", LUA, sh_quote(n.slow_url),
      BATCH_SIZE, BATCH_CONCURRENCY), CHILD_ENV)
    conns[#conns + 1] = opened_since(n, before)
    walls[#walls + 1] = r.seconds
    cpus[#cpus + 1] = r.cpu / r.total * 1e6
    ratios[#ratios + 1] = r.seconds / ideal
    accepted_all = accepted_all + r.accepted
  end
  row("wall seconds", walls, "%.2f")
  row("b2c CPU us/payout", cpus, "%.1f")
  local ratio = row("ratio wall / ideal", ratios, "%.3f")
  say("  accepted %d of %d; connections per process (1 for the warm-up send's token and "
    .. "ack, then the batch's): %s", accepted_all, BATCH_SIZE * BATCH_ROUNDS, table.concat(conns, ", "))
  say("  target: within 1.2x of ideal -> median %.3fx: %s", ratio.median,
    verdict(ratio.median, 1.2, false))
  return { ratio = ratio }
end

local function parsing()
  header(string.format("4. Callback parsing, success fixture (%d rounds x %d iterations)",
    PARSE_ROUNDS, PARSE_ITERATIONS))
  local function rounds(text)
    local bare, ours = {}, {}
    for b, o in text:gmatch("round%d+ (%S+) (%S+)") do
      bare[#bare + 1] = tonumber(b)
      ours[#ours + 1] = tonumber(o)
    end
    assert(#bare > 0, "bench: no rounds in:\n" .. text)
    return bare, ours
  end
  local lua_text, ok = capture(string.format("%s %s bench/client.lua parse %s %d %d", CHILD_ENV,
    LUA, FIXTURE, PARSE_ITERATIONS, PARSE_ROUNDS))
  assert(ok, lua_text)
  local bare, ours = rounds(lua_text)
  local jbare, jours
  if HAVE_JIT then
    local jit_text, jok = capture(string.format("%s %s bench/client.lua parse %s %d %d", JIT_ENV,
      LUAJIT, FIXTURE, PARSE_ITERATIONS * 2, PARSE_ROUNDS))
    assert(jok, jit_text)
    jbare, jours = rounds(jit_text)
  end
  local nbare, nours
  if select(2, capture("command -v " .. NODE)) then
    local node_text, nok = capture(string.format("%s bench/parse.js %s %d %d", NODE, FIXTURE,
      PARSE_ITERATIONS * 5, PARSE_ROUNDS))
    assert(nok, node_text)
    nbare, nours = rounds(node_text)
  end
  local function per_second(list) return col(list, function(v) return 1 / v end) end
  local function us(list) return col(list, function(v) return v * 1e6 end) end
  row("cjson.decode (floor): per second", per_second(bare))
  row("parseDarajaResult + getResultParametersMap: per s", per_second(ours))
  row("  the same, us per callback", us(ours), "%.2f")
  local ratios = {}
  for i = 1, #ours do ratios[i] = ours[i] / bare[i] end
  local ratio = row("ratio ours / bare cjson.decode, time (per round)", ratios, "%.2f")
  local jratio
  if jbare then
    row("LuaJIT cjson.decode: per second", per_second(jbare))
    row("LuaJIT parseDarajaResult + map: per second", per_second(jours))
    local jratios = {}
    for i = 1, #jours do jratios[i] = jours[i] / jbare[i] end
    jratio = row("LuaJIT ratio ours / bare cjson.decode, time", jratios, "%.2f")
  end
  local nratio
  if nbare then
    row("Node.js JSON.parse: per second", per_second(nbare))
    row("Node.js JSON.parse + the same checks/flattening: per s", per_second(nours))
    row("  the same, us per callback", us(nours), "%.2f")
    local nratios = {}
    for i = 1, math.min(#ours, #nours) do nratios[i] = ours[i] / nours[i] end
    nratio = row("ratio b2c (Lua) / Node.js, time per callback", nratios, "%.2f")
  else
    say("  Node.js (%s) not found: its rows are skipped", NODE)
  end
  say("  target: checks + flattening <= 1.3x a bare cjson.decode -> median %.3fx on Lua %s: %s",
    ratio.median, LUA_VERSION, verdict(ratio.median, 1.3, false))
  if jratio then
    say("          %54s %.3fx on LuaJIT: %s", "",
      jratio.median, verdict(jratio.median, 1.3, false))
  end
  if nratio then
    say("  Node.js is %.1fx %s than b2c on Lua %s per callback (median)",
      nratio.median >= 1 and nratio.median or 1 / nratio.median,
      nratio.median >= 1 and "faster" or "slower", LUA_VERSION)
  end
  return { ratio = ratio, node = nratio }
end

local function memory(n)
  header(string.format("5. Memory: RSS of one process sending %d sequential payouts", MEM_N2), true)
  local r = run_kv(string.format("%s bench/client.lua memory %s %d %d", LUA, sh_quote(n.url),
    MEM_N1, MEM_N2), CHILD_ENV)
  local growth = r.rss_n2 - r.rss_n1
  say("  RSS after 1,000 sends (warm)                  %8d kB", r.rss_warm)
  say("  RSS after %6d sends                         %8d kB", MEM_N1, r.rss_n1)
  say("  RSS after %6d sends                         %8d kB", MEM_N2, r.rss_n2)
  say("  peak RSS (VmHWM)                              %8d kB", r.hwm)
  say("  Lua heap at the end (collectgarbage count)   %8d kB", r.lua_kb)
  say("  %d sends in %.1f s (%.0f/s), failed %d", MEM_N2, r.wall, MEM_N2 / r.wall, r.failed)
  say("  target: growth from %d to %d sends < 2048 kB -> %+d kB: %s", MEM_N1, MEM_N2, growth,
    verdict(growth, 2048, false))
  return { growth = growth }
end

---------------------------------------------------------------------------

local started = core.now()
local wrote = os.execute(string.format("%s %s bench/client.lua body > %s", CHILD_ENV, LUA, BODY_FILE))
assert(wrote == true or wrote == 0, "bench: could not write " .. BODY_FILE)
say("b2c benchmark, %s%s", os.date("!%Y-%m-%d %H:%M UTC"), QUICK and " (BENCH_QUICK: short run)" or "")
say("machine: %s", machine())
say("%s", PIN and "sections 1 and 2: client on CPU 0, nginx on CPU 1 (taskset)" or "no CPU pinning")
say("request body %d bytes, both clients; servers: nginx on 127.0.0.1 (canned Daraja JSON, "
  .. "keep-alive)", #read_file(BODY_FILE))

local n = start_servers()
local ok, err = pcall(function()
  pin(n, true)
  sequential(n)
  https(n)
  pin(n, false)
  batch(n)
  parsing()
  memory(n)
end)
n:stop()
if not ok then
  io.stderr:write("bench: ", tostring(err), "\n")
  os.exit(1)
end
say("")
say("total %.0f s", core.now() - started)
local f = io.open(OUT, "w")
if f then
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  io.write("(kept in ", OUT, ")\n")
end
