-- b2c-sim: a Daraja (M-Pesa B2C) simulator on loopback.
--
--   local sim = require("b2c.sim").new{ port = 0, callbackDelay = 0.05 }
--   assert(sim:start())
--   print(sim.url, sim.certificate)
--   while busy do sim:step(0.1) end      -- or sim:run()
--   sim:close()
--
-- `main(arg)` is the command line entry used by sim/bin/b2c-sim.
local http = require("b2c.sim.http")
local daraja = require("b2c.sim.daraja")
local faults = require("b2c.sim.faults")
local settings = require("b2c.sim.settings")
local credential = require("b2c.sim.credential")
local console = require("b2c.sim.console")

local M = {}

M.VERSION = "0.1.0"

M.USAGE = [[
Usage: b2c-sim [options]

A Daraja (Safaricom M-Pesa B2C) simulator for tests. Listens on loopback and
prints one line when ready:
  b2c-sim listening on http://HOST:PORT certificate=/abs/path/cert.pem

Options:
  --host ADDR                 address to listen on (default 127.0.0.1)
  --port N                    port, 0 picks a free one (default 0)
  --consumer-key K            OAuth consumer key (default sim-consumer-key)
  --consumer-secret S         OAuth consumer secret (default sim-consumer-secret)
  --initiator-password P      password the SecurityCredential must hold
                              (default Safaricom999!*!)
  --token-ttl SECONDS         token lifetime, fractions allowed (default 3599)
  --expires-in-number         write expires_in as a number, not a string
  --invalid-token-style 404|401
                              how an invalid token is answered (default 404)
  --callback-delay SECONDS    delay before a result callback (default 0.2)
  --callback-attempts N       delivery attempts per callback (default 3)
  --callback-backoff LIST     seconds between attempts, e.g. 0.2,0.5
  --callback-timeout SECONDS  time allowed for one attempt (default 5)
  --balance KES               starting utility account balance, 0 to 1e13 with
                              at most 2 decimals (default 1000000)
  --callback-history N        callback records /sim/stats keeps, the newest
                              (default 5000; the counts cover every one)
  --key FILE --cert FILE      RSA private key and certificate (PEM) used for
                              SecurityCredential (default: the test pair in
                              spec/fixtures/sim, else one generated with openssl)
  --fault SPEC[:count=N][:path=PATH]
                              inject a fault (repeatable); SPEC is e.g.
                              spike, quota, html403, internal, drop, truncate,
                              delay=2 or delay=1,drop
  --credential-engine auto|core|openssl
                              how credentials are decrypted: the SDK's C core
                              (b2c.core), the openssl tool, or auto (core when
                              it loads, else openssl; the default)
  --max-body BYTES            request body limit (default 65536)
  --console-port N            serve the console (a web page: payouts,
                              callbacks, tokens, faults, charts, actions) on
                              this port, 0 picks a free one; printed as
                                b2c-sim console on http://HOST:PORT/
                              (default: no console)
  --ledger URL                the console also shows this ledger's payouts
                              by state (sqlite:///path.db or
                              postgresql://user@host:port/db; implies the
                              console, on a free port unless given)
  --watch-pid PID             exit when process PID is gone
  --log                       log to stderr: each request, one line per
                              payout and per callback delivery
  --version                   print the version
  --help                      print this help
]]

local function number_opt(name, v, min)
  local n = tonumber(v)
  if not n or (min and n < min) then
    error(string.format("%s needs a number%s, got %s", name, min and (" >= " .. min) or "", tostring(v)), 0)
  end
  return n
end

-- A whole-number setting, checked by the rule /sim/config applies.
local function setting_opt(setting, name, v)
  local n = tonumber(v)
  n = n and (math.tointeger(n) or n)
  local err = settings.check(setting, n or v)
  if err then
    error(name .. ": " .. err, 0)
  end
  return n
end

local VALUE_OPTIONS = {
  ["--host"] = function(o, v) o.host = v end,
  ["--port"] = function(o, v) o.port = math.tointeger(number_opt("--port", v, 0)) end,
  ["--consumer-key"] = function(o, v) o.consumerKey = v end,
  ["--consumer-secret"] = function(o, v) o.consumerSecret = v end,
  ["--initiator-password"] = function(o, v) o.initiatorPassword = v end,
  ["--token-ttl"] = function(o, v) o.tokenTtl = number_opt("--token-ttl", v, 0.001) end,
  ["--invalid-token-style"] = function(o, v)
    if v ~= "404" and v ~= "401" then
      error("--invalid-token-style is 404 or 401", 0)
    end
    o.invalidTokenStyle = v
  end,
  ["--callback-delay"] = function(o, v) o.callbackDelay = number_opt("--callback-delay", v, 0) end,
  ["--callback-attempts"] = function(o, v)
    o.callbackAttempts = math.tointeger(number_opt("--callback-attempts", v, 1))
    if not o.callbackAttempts then
      error("--callback-attempts needs a whole number", 0)
    end
  end,
  ["--callback-backoff"] = function(o, v)
    local list = {}
    for x in v:gmatch("[^,]+") do
      list[#list + 1] = number_opt("--callback-backoff", x, 0)
    end
    if #list == 0 then
      error("--callback-backoff needs seconds, e.g. 0.2,0.5", 0)
    end
    o.callbackBackoff = list
  end,
  ["--callback-timeout"] = function(o, v) o.callbackTimeout = number_opt("--callback-timeout", v, 0.001) end,
  ["--balance"] = function(o, v) o.balance = setting_opt("balance", "--balance", v) end,
  ["--callback-history"] = function(o, v)
    o.callbackHistory = setting_opt("callbackHistory", "--callback-history", v)
  end,
  ["--key"] = function(o, v) o.key = v end,
  ["--cert"] = function(o, v) o.cert = v end,
  ["--fault"] = function(o, v)
    local f, err = faults.parse_cli(v)
    if not f then
      error(err, 0)
    end
    o.faults = o.faults or {}
    o.faults[#o.faults + 1] = f
  end,
  ["--credential-engine"] = function(o, v)
    if v ~= "auto" and v ~= "core" and v ~= "openssl" then
      error("--credential-engine is auto, core or openssl", 0)
    end
    o.credentialEngine = v
  end,
  ["--max-body"] = function(o, v) o.maxBody = math.tointeger(number_opt("--max-body", v, 1)) end,
  ["--console-port"] = function(o, v)
    o.consolePort = math.tointeger(number_opt("--console-port", v, 0))
    if not o.consolePort or o.consolePort > 65535 then
      error("--console-port needs a whole number from 0 to 65535, got " .. v, 0)
    end
  end,
  ["--ledger"] = function(o, v) o.ledger = v end,
  ["--watch-pid"] = function(o, v) o.watchPid = math.tointeger(number_opt("--watch-pid", v, 1)) end,
}

local FLAG_OPTIONS = {
  ["--expires-in-number"] = function(o) o.expiresInNumber = true end,
  ["--log"] = function(o) o.log = true end,
  ["--help"] = function(o) o.help = true end,
  ["-h"] = function(o) o.help = true end,
  ["--version"] = function(o) o.version = true end,
}

--- Parse command line arguments. Returns options or nil, message.
function M.parse_args(argv)
  local o = {}
  local ok, err = pcall(function()
    local i = 1
    while i <= #argv do
      local a = argv[i]
      local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
      name = name or a
      if FLAG_OPTIONS[name] and not inline then
        FLAG_OPTIONS[name](o)
      elseif VALUE_OPTIONS[name] then
        local v = inline
        if not v then
          i = i + 1
          v = argv[i]
          if v == nil then
            error(name .. " needs a value", 0)
          end
        end
        VALUE_OPTIONS[name](o, v)
      else
        error("unknown option " .. a .. " (see --help)", 0)
      end
      i = i + 1
    end
  end)
  if not ok then
    return nil, err
  end
  return o
end

---------------------------------------------------------------------------
-- The simulator object
---------------------------------------------------------------------------

local Sim = {}
Sim.__index = Sim

local SETTINGS = {
  "consumerKey", "consumerSecret", "initiatorPassword", "tokenTtl", "expiresInNumber",
  "invalidTokenStyle", "callbackDelay", "callbackAttempts", "callbackBackoff",
  "callbackTimeout", "callbackHistory", "balance",
}

--- A simulator (not started). opts: host, port, key, cert, faults (list of
-- specs, tables or parsed faults), log (true or a function), maxBody,
-- consolePort (serve the console; 0 picks a free port), ledger (a ledger
-- URL the console shows) and the settings of /sim/config (consumerKey,
-- tokenTtl, callbackDelay...).
function M.new(opts)
  return setmetatable({ opts = opts or {} }, Sim)
end

--- Bind the socket and get ready. Returns the simulator or nil, message.
function Sim:start()
  local opts = self.opts
  local log = opts.log
  if log == true then
    log = function(msg)
      io.stderr:write(os.date("%H:%M:%S "), "b2c-sim: ", msg, "\n")
      io.stderr:flush()
    end
  elseif type(log) ~= "function" then
    log = function() end
  end
  self.log = log

  for _, k in ipairs({ "balance", "callbackHistory" }) do
    local err = opts[k] ~= nil and settings.check(k, opts[k])
    if err then
      return nil, err
    end
  end

  local key, cert = credential.locate(opts)
  if not key then
    return nil, cert
  end
  local checker, cerr = credential.checker(key, opts.credentialEngine)
  if not checker then
    return nil, cerr
  end
  self.key, self.certificate = key, cert

  local given = {}
  for _, k in ipairs(SETTINGS) do
    given[k] = opts[k]
  end
  local list = {}
  for _, f in ipairs(opts.faults or {}) do
    local parsed, err
    if type(f) == "string" then
      parsed, err = faults.parse_cli(f)
    elseif f.action ~= nil or f.delay ~= nil then
      parsed = f
    else
      parsed, err = faults.global(f)
    end
    if not parsed then
      return nil, err
    end
    list[#list + 1] = parsed
  end
  given.faults = list

  self.loop = http.loop({ log = log })
  local gateway
  local server, err = http.server(self.loop, {
    host = opts.host or "127.0.0.1",
    port = opts.port or 0,
    max_body = opts.maxBody or 64 * 1024,
    log = log,
    handler = function(req)
      if opts.log then
        log(req.method .. " " .. req.target)
      end
      return gateway:handle(req)
    end,
  })
  if not server then
    return nil, "cannot listen on " .. tostring(opts.host or "127.0.0.1") .. ":"
      .. tostring(opts.port or 0) .. ": " .. tostring(err)
  end
  self.server = server
  self.host, self.port = server.host, math.tointeger(tonumber(server.port))
  local shown = self.host:find(":", 1, true) and ("[" .. self.host .. "]") or self.host
  self.url = "http://" .. shown .. ":" .. self.port
  gateway = daraja.new({
    loop = self.loop, settings = given, checker = checker, base_url = self.url, log = log,
  })
  self.gateway = gateway
  if opts.consolePort or opts.ledger then
    local c, why = console.start(self.loop, gateway, {
      host = opts.host, port = opts.consolePort or 0, gateway_url = self.url, ledger = opts.ledger, log = log,
    })
    if not c then
      self:close()
      return nil, why
    end
    self.console = c
    self.consoleUrl = c.url
  end
  return self
end

--- Serve for at most `max_wait` seconds (one round of the event loop).
-- An error inside the round is logged: the state and the other
-- connections live on.
function Sim:step(max_wait)
  local ok, err = pcall(self.loop.step, self.loop, max_wait or 0.05)
  if not ok then
    self.log("event loop error: " .. tostring(err))
  end
end

--- Serve until keep_going() returns false (forever without it).
function Sim:run(keep_going)
  while not keep_going or keep_going() do
    self:step(0.5)
  end
end

function Sim:close()
  if self.server then
    self.server:close()
    self.server = nil
  end
  if self.console then
    self.console.close()
    self.console = nil
  end
end

---------------------------------------------------------------------------
-- Command line
---------------------------------------------------------------------------

local function process_alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then
    return false
  end
  local stat = f:read("a") or ""
  f:close()
  local state = stat:match("%)%s+(%a)")
  return state ~= "Z" and state ~= "X"
end

--- Entry point of b2c-sim (sim/bin/b2c-sim). Returns the exit status.
function M.main(argv)
  local opts, err = M.parse_args(argv or {})
  if not opts then
    io.stderr:write("b2c-sim: ", err, "\n")
    return 2
  end
  if opts.help then
    io.stdout:write(M.USAGE)
    return 0
  end
  if opts.version then
    io.stdout:write("b2c-sim ", M.VERSION, "\n")
    return 0
  end
  local sim, serr = M.new(opts):start()
  if not sim then
    io.stderr:write("b2c-sim: ", serr, "\n")
    return 1
  end
  io.stdout:write(string.format("b2c-sim listening on %s certificate=%s\n", sim.url, sim.certificate))
  if sim.consoleUrl then
    io.stdout:write("b2c-sim console on ", sim.consoleUrl, "\n")
  end
  io.stdout:flush()
  local watch = opts.watchPid
  local next_check = os.time() + 1
  sim:run(function()
    if watch and os.time() >= next_check then
      next_check = os.time() + 1
      if not process_alive(watch) then
        return false
      end
    end
    return true
  end)
  sim:close()
  return 0
end

return M
