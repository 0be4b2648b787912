-- Spec helper: run b2c-sim in the background and receive its callbacks.
--
--   local sim = require("support.sim")
--   local s = sim.start{ tokenTtl = 3599, callbackDelay = 0.05, args = {...} }
--   s.url, s.port, s.certificate, s.consumerKey, s.consumerSecret, s.initiatorPassword
--   s:stats()  s:reset()  s:config{...}  s:revokeTokens()  s:stop()
--   b2c.new(s:settings{ resultUrl = ..., queueTimeOutUrl = ... })
--   b2c.new(sim.settings(url, certificate, {...}))   -- in a child process, default credentials
--
--   local r = sim.receiver()        -- r.url, r:wait(n, seconds) -> list of {path, body, ...}
--
--   local ctx = sim.session({ callbackDelay = 0.05 }, { reset = true })
--   -- in a describe block: ctx.s, ctx.receiver, ctx.callback(path) for its tests
--
-- Extras used by the simulator's own specs: s:request(), s:token(),
-- s:credential(), sim.request(), sim.credential().
local socket = require("socket")
local cjson = require("cjson.safe").new()

local M = {}

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function absolute(path)
  if path:sub(1, 1) == "/" then
    return path
  end
  local cwd = os.getenv("PWD")
  if not cwd or cwd == "" then
    local p = io.popen("pwd")
    cwd = p:read("*l")
    p:close()
  end
  if path == "." then
    return cwd
  end
  return cwd .. "/" .. path:gsub("^%./", "")
end

-- The repository root, from this file's location (spec/support/sim.lua).
local function repo_root()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/spec/support/[^/]*$")
  if not dir and src:match("^spec/support/") then
    dir = "."
  end
  return absolute(dir or ".")
end

M.root = repo_root()
M.lua = os.getenv("B2C_SIM_LUA") or "lua5.4"

M.DEFAULTS = {
  consumerKey = "sim-consumer-key",
  consumerSecret = "sim-consumer-secret",
  initiatorPassword = "Safaricom999!*!",
}

local read_file = require("support.files").read
local process = require("support.process")

---------------------------------------------------------------------------
-- A small blocking HTTP client (Connection: close)
---------------------------------------------------------------------------

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    -- Arithmetic, not bitwise operators: this file also runs on 5.1 and LuaJIT.
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = { math.floor(n / 262144), math.floor(n / 4096) % 64, math.floor(n / 64) % 64, n % 64 }
    for j = 1, 4 do
      out[#out + 1] = B64:sub(d[j] + 1, d[j] + 1)
    end
    if not c then
      out[#out] = "="
    end
    if not b then
      out[#out - 1] = "="
    end
  end
  return table.concat(out)
end
M.base64 = b64

local function read_response(sock)
  local status_line, err = sock:receive("*l")
  if not status_line then
    return nil, err
  end
  local status = tonumber(status_line:match("^HTTP/%d%.%d (%d%d%d)"))
  local headers = {}
  while true do
    local line, herr = sock:receive("*l")
    if not line then
      return nil, herr
    end
    if line == "" then
      break
    end
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    if k then
      headers[k:lower()] = v
    end
  end
  local body, berr, partial
  local cl = tonumber(headers["content-length"] or "")
  if cl then
    body, berr, partial = sock:receive(cl)
  else
    body, berr, partial = sock:receive("*a")
  end
  local res = { status = status, headers = headers, body = body or partial, complete = body ~= nil }
  if berr then
    res.error = berr
  end
  res.json = cjson.decode(res.body or "")
  return res
end
M.read_response = read_response

--- One HTTP request. opts: headers (name -> value; false drops a default),
-- body (text), json (table, sent as JSON), timeout, keepAlive (sock to reuse).
-- Returns {status, headers (lower-case), body, json, complete} or nil, error.
function M.request(base_url, method, path, opts)
  opts = opts or {}
  local host, port = base_url:match("^http://([^:/]+):(%d+)")
  local sock = socket.tcp()
  sock:settimeout(opts.timeout or 5)
  local ok, err = sock:connect(host, tonumber(port))
  if not ok then
    return nil, err
  end
  local body = opts.body
  local headers = { ["Host"] = host .. ":" .. port, ["Connection"] = "close" }
  if opts.json ~= nil then
    body = assert(cjson.encode(opts.json))
    headers["Content-Type"] = "application/json"
  end
  if body then
    headers["Content-Length"] = tostring(#body)
  end
  for k, v in pairs(opts.headers or {}) do
    headers[k] = v or nil
  end
  local lines = { method .. " " .. path .. " HTTP/1.1" }
  for k, v in pairs(headers) do
    lines[#lines + 1] = k .. ": " .. v
  end
  sock:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or ""))
  local res, rerr = read_response(sock)
  sock:close()
  return res, rerr
end

--- SecurityCredential for `password` made with the certificate at cert_path
-- (openssl pkeyutl, RSA PKCS#1 v1.5, base64 on one line).
function M.credential(password, cert_path)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(password)
  f:close()
  local p = io.popen(string.format("openssl pkeyutl -encrypt -certin -inkey %s -in %s | openssl base64 -A",
    shell_quote(cert_path), shell_quote(tmp)))
  local out = p:read("*a")
  p:close()
  os.remove(tmp)
  out = out:gsub("%s", "")
  assert(#out > 0, "openssl could not encrypt the credential")
  return out
end

--- Settings for b2c.new against the simulator at `url` with `certificate`:
-- short code 600996, initiator testapi, and the consumerKey,
-- consumerSecret and initiatorPassword of `credentials` (by default
-- sim.DEFAULTS, all a child process of a spec knows); `over` adds fields
-- or replaces them.
function M.settings(url, certificate, over, credentials)
  local c = credentials or M.DEFAULTS
  local t = { consumerKey = c.consumerKey, consumerSecret = c.consumerSecret, shortCode = "600996",
    initiatorName = "testapi", initiatorPassword = c.initiatorPassword, certificate = certificate,
    baseUrl = url }
  for k, v in pairs(over or {}) do t[k] = v end
  return t
end

---------------------------------------------------------------------------
-- The simulator process
---------------------------------------------------------------------------

local Sim = {}
Sim.__index = Sim

local OPTION_FLAGS = {
  tokenTtl = "--token-ttl",
  callbackDelay = "--callback-delay",
  consumerKey = "--consumer-key",
  consumerSecret = "--consumer-secret",
  initiatorPassword = "--initiator-password",
  invalidTokenStyle = "--invalid-token-style",
  callbackAttempts = "--callback-attempts",
  callbackTimeout = "--callback-timeout",
  balance = "--balance",
  key = "--key",
  cert = "--cert",
}

local function sleep(s)
  socket.sleep(s)
end

--- Start a simulator. opts: tokenTtl, callbackDelay, consumerKey,
-- consumerSecret, initiatorPassword, invalidTokenStyle, expiresInNumber,
-- callbackAttempts, callbackBackoff (list), callbackTimeout, balance,
-- faults (list of --fault specs), args (extra command line words),
-- command (shell words that run b2c-sim, e.g. an installed one; default:
-- lua5.4 sim/bin/b2c-sim of this tree).
local started = 0

function M.start(opts)
  opts = opts or {}
  -- Each simulator is its own app unless told otherwise: the core's
  -- process-wide token cache is keyed by base URL and credentials, and the
  -- kernel hands a freed port out again, so a client an earlier spec left
  -- to the garbage collector would otherwise keep a stale token alive for a
  -- later simulator on the same port.
  started = started + 1
  local given = opts
  opts = { consumerKey = string.format("%s-%d", M.DEFAULTS.consumerKey, started) }
  for k, v in pairs(given) do opts[k] = v end
  local args = { "--port", "0" }
  local names = {}
  for k in pairs(OPTION_FLAGS) do
    names[#names + 1] = k
  end
  table.sort(names)
  for _, k in ipairs(names) do
    if opts[k] ~= nil then
      args[#args + 1] = OPTION_FLAGS[k]
      args[#args + 1] = tostring(opts[k])
    end
  end
  if opts.expiresInNumber then
    args[#args + 1] = "--expires-in-number"
  end
  if opts.callbackBackoff then
    args[#args + 1] = "--callback-backoff"
    args[#args + 1] = table.concat(opts.callbackBackoff, ",")
  end
  for _, f in ipairs(opts.faults or {}) do
    args[#args + 1] = "--fault"
    args[#args + 1] = f
  end
  for _, a in ipairs(opts.args or {}) do
    args[#args + 1] = tostring(a)
  end
  local quoted = {}
  for i, a in ipairs(args) do
    quoted[i] = shell_quote(a)
  end
  local out, err = os.tmpname(), os.tmpname()
  -- --watch-pid makes the simulator exit if this Lua process dies without
  -- stopping it; a --watch-pid in opts.args comes later and wins.
  local command = opts.command or (shell_quote(M.lua) .. " " .. shell_quote(M.root .. "/sim/bin/b2c-sim"))
  local cmd = string.format("%s --watch-pid $PPID %s >%s 2>%s </dev/null & echo $!",
    command, table.concat(quoted, " "), shell_quote(out), shell_quote(err))
  local p = assert(io.popen(cmd, "r"))
  local pid = tonumber(p:read("*l"))
  p:close()
  assert(pid, "could not start b2c-sim")

  local self = setmetatable({
    pid = pid,
    outFile = out,
    errFile = err,
    consumerKey = opts.consumerKey or M.DEFAULTS.consumerKey,
    consumerSecret = opts.consumerSecret or M.DEFAULTS.consumerSecret,
    initiatorPassword = opts.initiatorPassword or M.DEFAULTS.initiatorPassword,
  }, Sim)
  local deadline = socket.gettime() + 5
  while true do
    local line = read_file(out) or ""
    local url, cert = line:match("b2c%-sim listening on (http://%S+) certificate=(%S+)")
    if url then
      self.url = url
      self.port = tonumber(url:match(":(%d+)$"))
      self.certificate = cert
      break
    end
    if not process.alive(pid) or socket.gettime() > deadline then
      local why = read_file(err) or ""
      self:stop()
      error("b2c-sim did not start: " .. (why ~= "" and why or "no ready line within 5 s"), 2)
    end
    sleep(0.01)
  end
  return self
end

--- Stop the simulator (SIGTERM, then SIGKILL after 2 s). Idempotent.
function Sim:stop()
  if self.stopped then
    return
  end
  self.stopped = true
  process.stop(self.pid, 2)
  os.remove(self.outFile)
  os.remove(self.errFile)
end

--- Standard error of the simulator so far (for debugging a failing spec).
function Sim:stderr()
  return read_file(self.errFile) or ""
end

function Sim:request(method, path, opts)
  return M.request(self.url, method, path, opts)
end

local function control(self, method, path, body)
  local res, err = self:request(method, path, body and { json = body } or nil)
  if not res then
    error("b2c-sim " .. path .. ": " .. tostring(err), 3)
  end
  if res.status ~= 200 then
    error("b2c-sim " .. path .. ": HTTP " .. tostring(res.status) .. " " .. tostring(res.body), 3)
  end
  return res.json
end

function Sim:stats()
  return control(self, "GET", "/sim/stats")
end

function Sim:reset()
  return control(self, "POST", "/sim/reset")
end

function Sim:config(t)
  return control(self, "POST", "/sim/config", t or {})
end

function Sim:revokeTokens()
  return control(self, "POST", "/sim/revoke-tokens")
end

--- sim.settings for this simulator, with its own credentials.
function Sim:settings(over)
  return M.settings(self.url, self.certificate, over, self)
end

--- Basic authorization header value for this simulator's consumer key.
function Sim:basic()
  return "Basic " .. b64(self.consumerKey .. ":" .. self.consumerSecret)
end

--- Fetch a fresh access token (each one supersedes the previous).
function Sim:token()
  local res = assert(self:request("GET", "/oauth/v1/generate?grant_type=client_credentials",
    { headers = { Authorization = self:basic() } }))
  assert(res.status == 200, "token request failed: " .. tostring(res.body))
  return res.json.access_token
end

--- A valid SecurityCredential for `password` (default: the configured one).
function Sim:credential(password)
  return M.credential(password or self.initiatorPassword, self.certificate)
end

---------------------------------------------------------------------------
-- Callback receiver (the simulator package's, also for plain-Lua tests)
---------------------------------------------------------------------------

-- Loaded on first use: a child process started with LUA_PATH of lua/ and
-- spec/ only (bench/ledger.lua) finds the package's sim/lua here.
function M.receiver(opts)
  local ok, receiver = pcall(require, "b2c.sim.receiver")
  if not ok then
    package.path = M.root .. "/sim/lua/?.lua;" .. package.path
    receiver = require("b2c.sim.receiver")
  end
  return receiver.new(opts)
end

--- One simulator (started with `opts`) and one callback receiver for a
-- describe block, through busted's hooks: setup starts them, teardown stops
-- them. each.reset: the simulator is reset before each test;
-- each.freshReceiver: each test gets a new receiver, opened before the old
-- one closes, so on another port: a callback of the previous test still on
-- its way cannot land in this one's. Returns the table the hooks fill: s,
-- receiver, and ctx.callback(path, id): the next callback posted to path
-- (whose body holds id, an OCID or ConversationID, when given) that no
-- earlier call returned (raises after 5 s; the others stay in
-- receiver.received).
function M.session(opts, each)
  local busted = require("busted")
  each = each or {}
  local ctx = {}
  local seen = {}
  function ctx.callback(path, id)
    local deadline = os.time() + 5
    repeat
      local got = ctx.receiver:wait(#ctx.receiver.received + 1, 0.2)
      for i, req in ipairs(got) do
        if not seen[i] and req.path == path and (not id or req.raw:find(id, 1, true)) then
          seen[i] = true
          return req
        end
      end
    until os.time() > deadline
    error("no callback to " .. path)
  end
  busted.setup(function()
    ctx.s = M.start(opts)
    ctx.receiver = M.receiver()
  end)
  busted.teardown(function()
    if ctx.receiver then ctx.receiver:close() end
    if ctx.s then ctx.s:stop() end
  end)
  busted.before_each(function()
    if each.reset then ctx.s:reset() end
    if each.freshReceiver then
      local old = ctx.receiver
      ctx.receiver = M.receiver()
      old:close()
      seen = {}
    end
  end)
  return ctx
end

return M
