-- The console: a web page on its own port that shows the simulator's
-- payouts, callbacks, tokens and faults as they happen, charts a running
-- batch, and acts on them. The page polls GET /state (JSON); its buttons
-- POST to the control endpoints (/sim/..., routes/control.lua), answered
-- here by the same code as on the gateway's port. Where a ledger URL is
-- given, /state also carries the ledger's payouts by state.
local http = require("b2c.sim.http")
local json = require("b2c.sim.json")
local reply = require("b2c.sim.reply")
local faults = require("b2c.sim.faults")
local tokens = require("b2c.sim.tokens")
local control = require("b2c.sim.routes.control")
local page = require("b2c.sim.console.page")

local M = {}

M.ROWS = 200      -- payouts and callbacks the page lists (the newest)
M.SECONDS = 120   -- seconds of a batch the charts cover (the latest)

local function newest(list, n, shape)
  local out = json.array()
  for i = #list, math.max(1, #list - n + 1), -1 do
    out[#out + 1] = shape(list[i])
  end
  return out
end

local function callback_view(r)
  return {
    id = r.id, kind = r.kind, ocid = r.ocid, url = r.url, attempts = r.attempts,
    delivered = r.delivered, pending = r.pending, status = r.status, error = r.error,
    redelivery = r.redelivery,
  }
end

local function payout_view(p)
  return {
    ocid = p.ocid, api = p.api, commandId = p.commandId, recipient = p.partyB or p.original,
    amount = p.amount, scenario = p.scenario, state = p.state, resultCode = p.resultCode,
    receipt = p.receipt,
  }
end

-- Per second of the latest SECONDS: payouts, answer latency (mean and
-- longest, ms), and the answers by class.
local function series(gw)
  local last
  for second in pairs(gw.answersBySecond) do
    if not last or second > last then last = second end
  end
  local out = json.array()
  if not last then
    return out
  end
  for second = last - M.SECONDS + 1, last do
    local a = gw.answersBySecond[second]
    if a or #out > 0 then
      a = a or { n = 0, seconds = 0, max = 0 }
      out[#out + 1] = {
        t = second, payouts = gw.paymentsBySecond[second] or 0,
        meanMs = a.n > 0 and a.seconds * 1000 / a.n or 0, maxMs = a.max * 1000,
      }
    end
  end
  return out
end

-- Every payment request so far by outcome class.
local function outcomes(gw)
  local c = { completed = 0, failed = 0, refused = 0, dropped = 0 }
  for _, p in ipairs(gw.payouts) do
    if p.state == "completed" then c.completed = c.completed + 1 else c.failed = c.failed + 1 end
  end
  for _, a in pairs(gw.answersBySecond) do
    c.refused, c.dropped = c.refused + a.refused, c.dropped + a.dropped
  end
  return c
end

local function ledger_view(self)
  if not self.ledger then
    return nil
  end
  local stats, err = self.ledger:stats()
  if not stats then
    return { error = tostring(err and err.message or err) }
  end
  local list = json.array()
  for _, row in ipairs(self.ledger:list({ limit = 20 }) or {}) do
    list[#list + 1] = {
      id = row.id, reference = row.reference, ocid = row.originatorConversationId,
      recipient = row.recipient, amount = row.amount, state = row.state, attention = row.attention,
    }
  end
  return { url = self.ledger_url, total = stats.total, byState = stats.byState, attention = stats.attention,
    newest = list }
end

--- What the page shows, as JSON.
function M.state(self)
  local gw = self.gateway
  local counts = gw.callbacks.counts
  return {
    gateway = self.gateway_url,
    tokensIssued = gw.tokensIssued,
    tokensValid = tokens.valid(gw),
    faults = json.array(faults.describe(gw.config.faults)),
    payoutsTotal = #gw.payouts,
    payouts = newest(gw.payouts, M.ROWS, payout_view),
    callbacks = newest(gw.callbacks:history(), M.ROWS, callback_view),
    callbacksTotal = counts.total, callbacksDelivered = counts.delivered, callbacksFailed = counts.failed,
    series = series(gw),
    outcomes = outcomes(gw),
    ledger = ledger_view(self),
  }
end

local function handle(self, req)
  if not control.is_loopback(req.peer) then
    return reply.sim_error(403, "the console answers loopback clients only")
  elseif req.path:sub(1, #control.PREFIX) == control.PREFIX then
    return control.handle(self.gateway, req)
  elseif req.method ~= "GET" then
    return reply.sim_error(405, "the console answers GET (and the control endpoints under /sim/)")
  elseif req.path == "/" then
    return { status = 200, headers = { { "Content-Type", "text/html; charset=utf-8" },
      { "Cache-Control", "no-store" } }, body = page.HTML }
  elseif req.path == "/state" then
    local res = reply.json(200, M.state(self))
    res.headers[#res.headers + 1] = { "Cache-Control", "no-store" }
    return res
  end
  return reply.sim_error(404, "no such console page " .. req.path)
end

--- Serve the console of `gateway` on the simulator's loop. opts: host,
-- port (0 picks a free one), gateway_url, ledger (a URL: b2c.ledger is
-- loaded then, and only then), log. Returns the console or nil, message.
function M.start(loop, gateway, opts)
  local self = { gateway = gateway, gateway_url = opts.gateway_url }
  if opts.ledger then
    local ok, ledger = pcall(require, "b2c.ledger")
    if not ok then
      return nil, "--ledger needs the SDK's b2c.ledger: " .. tostring(ledger)
    end
    local l, err = ledger.open(opts.ledger)
    if not l then
      return nil, "--ledger " .. opts.ledger .. ": " .. tostring(err and err.message or err)
    end
    self.ledger, self.ledger_url = l, opts.ledger
  end
  local server, err = http.server(loop, {
    host = opts.host or "127.0.0.1",
    port = opts.port or 0,
    log = opts.log,
    handler = function(req) return handle(self, req) end,
  })
  if not server then
    return nil, "console cannot listen on " .. tostring(opts.host or "127.0.0.1") .. ":"
      .. tostring(opts.port or 0) .. ": " .. tostring(err)
  end
  self.server = server
  local host = server.host:find(":", 1, true) and ("[" .. server.host .. "]") or server.host
  self.url = "http://" .. host .. ":" .. math.tointeger(tonumber(server.port)) .. "/"
  function self.close()
    server:close()
    if self.ledger then
      self.ledger:close()
    end
  end
  return self
end

return M
