-- The simulated Daraja gateway: its state (settings, tokens, balances,
-- payouts, queries, callbacks) and the dispatch of a request to its route
-- (routes/), with the faults injected on the way.
local socket = require("socket")
local json = require("b2c.sim.json")
local faults = require("b2c.sim.faults")
local callbacks = require("b2c.sim.callbacks")
local reply = require("b2c.sim.reply")
local settings = require("b2c.sim.settings")
local tokens = require("b2c.sim.tokens")
local util = require("b2c.sim.util")
local routes = require("b2c.sim.routes")
local control = require("b2c.sim.routes.control")

local M = {}

M.FAULT_HEADER = "x-b2c-sim-fault"

-- path -> route
local ROUTES = {}
for _, route in ipairs(routes) do
  for _, path in ipairs(route.paths) do
    ROUTES[path] = route
  end
end

local copy = settings.copy

local Gateway = {}
Gateway.__index = Gateway

--- Create the gateway. opts: loop, settings (see settings.DEFAULTS; `faults`
-- a list of parsed global faults), checker (credential checker), base_url, log.
function M.new(opts)
  local self = setmetatable({
    loop = opts.loop,
    checker = opts.checker,
    base_url = opts.base_url or "http://127.0.0.1",
    log = opts.log or function() end,
  }, Gateway)
  local initial = {}
  for k, v in pairs(settings.DEFAULTS) do
    initial[k] = copy(v)
  end
  for k, v in pairs(opts.settings or {}) do
    initial[k] = copy(v)
  end
  initial.faults = initial.faults or {}
  self.initial = initial
  self.callbacks = callbacks.new(self.loop, function() return self.config end, self.log)
  self:reset()
  return self
end

--- Back to the state at start: settings, tokens, balances, records.
function Gateway:reset()
  self.config = copy(self.initial)
  self.tokens = {}        -- token -> {key=, expires=}
  self.latest = {}        -- consumer key -> newest token
  self.tokensIssued = 0
  self.requests = {}
  self.sendsByOcid = {}
  self.paymentsBySecond = {} -- whole epoch second -> payment requests received
  self.answersBySecond = {}  -- whole epoch second -> {n=, seconds=, max=, refused=, dropped=}
  self.payouts = {}
  self.payoutByOcid = {}
  self.payoutByReceipt = {}
  self.reversalByReceipt = {} -- original receipt -> its reversal (routes/reversal.lua)
  self.queries = {}
  self.lastHeaders = nil
  self.lastPaymentRequest = nil
  self.utility = settings.cents(self.config.balance)
  self.working = math.floor(self.config.workingBalance * 100 + 0.5)
  self.charges = 0
  self.callbacks:reset()
end

--- Keeps a payout (or reversal) the routes processed, by OCID and in
--- order, and logs it in one line.
function Gateway:record(p)
  self.payoutByOcid[p.ocid] = p
  self.payouts[#self.payouts + 1] = p
  self.log(string.format("payout %s ocid=%s to=%s amount=%s scenario=%s -> %s code=%s%s", p.api, p.ocid,
    tostring(p.partyB or p.original), tostring(p.amount), tostring(p.scenario), p.state,
    tostring(p.resultCode), p.receipt and (" receipt=" .. p.receipt) or ""))
end

--- A completed payout's receipt, unique among those issued; it is also the
--- payout's TransactionID.
function Gateway:issue_receipt(p)
  local receipt = util.receipt()
  while self.payoutByReceipt[receipt] do receipt = util.receipt() end
  p.receipt, p.transactionId = receipt, receipt
  self.payoutByReceipt[receipt] = p
end

--- Apply /sim/config settings. Returns true or nil, message.
function Gateway:configure(t)
  local c, set_balance = settings.apply(self.config, t)
  if not c then
    return nil, set_balance
  end
  self.config = c
  if set_balance then
    self.utility = settings.cents(set_balance)
  end
  self.callbacks:trim(c.callbackHistory)
  return true
end

-- Token, content type and payload checks shared by the POST APIs.
-- Returns body or nil, response.
function Gateway:api_preamble(req, body)
  local bad = tokens.check(self, req)
  if bad then
    return nil, bad
  end
  local ct = (req.headers["content-type"] or ""):lower()
  if not ct:find("application/json", 1, true) then
    return nil, reply.bad_field("InitiatorName")
  end
  if type(body) ~= "table" or req.body:match("^%s*%[") then
    return nil, reply.gateway_error(400, "400.002.05", "Invalid Request Payload")
  end
  return body
end

function Gateway:record_payment_request(req, body)
  local headers = {}
  for _, h in ipairs(req.header_list) do
    headers[h[1]] = h[2]
  end
  for k, v in pairs(req.headers) do
    headers[k] = v
  end
  self.lastHeaders = headers
  local second = math.floor(socket.gettime())
  self.paymentsBySecond[second] = (self.paymentsBySecond[second] or 0) + 1
  if type(body) == "table" then
    self.lastPaymentRequest = body
    local ocid = body.OriginatorConversationID
    if type(ocid) == "string" then
      self.sendsByOcid[ocid] = (self.sendsByOcid[ocid] or 0) + 1
    end
  end
end

-- The fault for a request: header, then Remarks text, then global faults.
-- Returns fault or nil, or false, response when the header is malformed.
function Gateway:fault_for(req, body)
  local spec = req.headers[M.FAULT_HEADER]
  if spec then
    local f, err = faults.parse(spec)
    if not f then
      return false, reply.sim_error(400, err)
    end
    return f
  end
  if type(body) == "table" and type(body.Remarks) == "string" then
    local s = body.Remarks:match("sim:fault=(%S+)")
    if s then
      local f, err = faults.parse(s)
      if not f then
        return false, reply.sim_error(400, err)
      end
      return f
    end
  end
  return faults.take(self.config.faults, req.path)
end

-- How long a payment request took to answer, and how (the console's
-- charts): per second, the count, the total and longest time, the
-- answers that were not an acknowledgement (refused) and those dropped.
function Gateway:record_answer(began, res)
  local second = math.floor(began)
  local a = self.answersBySecond[second]
  if not a then
    a = { n = 0, seconds = 0, max = 0, refused = 0, dropped = 0 }
    self.answersBySecond[second] = a
  end
  local took = socket.gettime() - began
  a.n, a.seconds, a.max = a.n + 1, a.seconds + took, math.max(a.max, took)
  if res.drop or res.truncate then
    a.dropped = a.dropped + 1
  elseif res.status ~= 200 then
    a.refused = a.refused + 1
  end
end

--- Answer one request (runs inside the connection's task; may sleep).
function Gateway:handle(req)
  local route = ROUTES[req.path]
  if not (route and route.payment and req.method == "POST") then
    return self:answer(req)
  end
  local began = socket.gettime()
  local res = self:answer(req)
  self:record_answer(began, res)
  return res
end

function Gateway:answer(req)
  local path = req.path
  if path:sub(1, #control.PREFIX) == control.PREFIX then
    return control.handle(self, req)
  end
  self.requests[path] = (self.requests[path] or 0) + 1
  local route = ROUTES[path]
  local body
  if route and route.api and req.body ~= "" then
    body = json.decode(req.body)
  end
  if route and route.payment and req.method == "POST" then
    self:record_payment_request(req, body)
  end

  local fault, fault_reply = self:fault_for(req, body)
  if fault == false then
    return fault_reply
  end
  if fault and fault.action then
    local res = reply.fault(fault.action)
    if res then
      if fault.delay > 0 then
        self.loop:sleep(fault.delay)
      end
      return res
    end
  end

  local res
  if not route then
    res = reply.gateway_error(404, "404.001.01", "Resource not found")
  elseif req.method ~= route.method then
    res = reply.sim_error(405, "use " .. route.method .. " for " .. path)
  elseif route.api then
    local checked, err_res = self:api_preamble(req, body)
    if checked then
      res = route.handle(self, req, checked)
    else
      res = err_res
    end
  else
    res = route.handle(self, req)
  end

  if fault then
    if fault.delay > 0 then
      self.loop:sleep(fault.delay)
    end
    if fault.action == "drop" then
      res.drop = true
    elseif fault.action == "truncate" then
      res.truncate = true
    elseif fault.action == "oversize" then
      res.body = (res.body or "") .. string.rep(" ", 1024 * 1024)
    elseif fault.action == "trickle" then
      res.trickle = 1
    elseif fault.action == "bare502" then
      res = { status = 502, headers = { { "Content-Type", "text/plain" } }, body = "" }
    end
  end
  return res
end

return M
