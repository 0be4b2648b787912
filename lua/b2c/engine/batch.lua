-- mpesa.<op>.sendBatch(payouts, options), for every operation that moves
-- money: many payouts on the polled machinery (engine/polled.lua), a
-- bounded number in flight and under a rate, with
-- every payout checked before anything is sent and outcomes in input order.
-- Spike arrest is the one answer worth sending again (rejected before
-- processing); a payout that found no free file descriptor (nothing sent)
-- waits for one; quota stops the batch; nothing ambiguous is ever resent.
-- Outcome classes are b2c.outcome's, plus "invalid" (refused before sending).
local core = require("b2c.core")
local errors = require("b2c.errors")
local json = require("b2c.json")
local outcome = require("b2c.outcome")
local polled = require("b2c.engine.polled")
local request = require("b2c.engine.request")

local batch = {}

local QUOTA = "500.003.03"
local MAX_DESCRIPTOR_WAITS = 20 -- per payout: each waits for another one to finish
local MAX_IDLE_DESCRIPTOR_WAITS = 3 -- per payout, with nothing in flight to wait for

-- The payouts as a list 1..n with no holes and no other keys: a nil in the
-- middle would silently end (or shorten) the batch.
local function check_list(payouts)
  local n, count = #payouts, 0
  for k in pairs(payouts) do
    if type(k) ~= "number" or k < 1 or k ~= math.floor(k) then
      return nil, errors.validation("payouts", "must be a list (keys 1..n), found the key "
        .. string.format("%q", tostring(k):sub(1, 40)))
    end
    count = count + 1
    if k > n then n = k end
  end
  if count ~= n then
    local hole = 1
    while payouts[hole] ~= nil do hole = hole + 1 end
    return nil, errors.validation("payouts", string.format("must be a list without holes: "
      .. "payouts[%d] is nil but payouts[%d] is set; nothing was sent", hole, n))
  end
  return n
end

local function check_options(o)
  if o == nil then o = {} end
  if type(o) ~= "table" then error("sendBatch: options must be a table", 3) end
  local function number(name, default, min)
    local v = o[name]
    if v == nil then return default end
    if type(v) ~= "number" or v < min or v ~= v then
      error(string.format("sendBatch: %s must be a number >= %s", name, tostring(min)), 4)
    end
    return v
  end
  for _, name in ipairs({ "onSubmit", "onResult" }) do
    if o[name] ~= nil and type(o[name]) ~= "function" then
      error("sendBatch: " .. name .. " must be a function", 3)
    end
  end
  return {
    concurrency = math.floor(number("concurrency", 16, 1)),
    tps = number("tps", nil, 0.01),
    maxSpikeRetries = math.floor(number("maxSpikeRetries", 5, 0)),
    onSubmit = o.onSubmit, onResult = o.onResult,
    progress = o.progress and true or false,
    keepResults = o.keepResults ~= false,
  }
end

-- How fast to send: at most `concurrency` in flight and, with `tps`, a
-- ceiling on starts per second. Spike arrest halves the rate (with tps) or
-- the concurrency (without), at most once per half second; both climb back
-- while the gateway stays calm (additive increase, multiplicative decrease).
local Pace = {}
Pace.__index = Pace

local function new_pace(o)
  return setmetatable({ max_concurrency = o.concurrency, concurrency = o.concurrency,
    ceiling = o.tps, tps = o.tps, next_at = 0, changed_at = core.now() }, Pace)
end

function Pace:may_start(now, active)
  return active < self.concurrency and (self.tps == nil or now >= self.next_at)
end

function Pace:started(now)
  if self.tps then self.next_at = math.max(self.next_at, now) + 1 / self.tps end
end

function Pace:wait(now) return self.tps and math.max(0, self.next_at - now) or 0 end

function Pace:spiked(now)
  if now - self.changed_at < 0.5 then return end -- one burst of refusals, one cut
  self.changed_at = now
  if self.tps then
    self.tps = math.max(0.5, self.tps / 2)
    self.next_at = now + 1 / self.tps
  else
    self.concurrency = math.max(1, math.floor(self.concurrency / 2))
  end
end

-- No file descriptor was free: never more in flight than now worked.
function Pace:exhausted(active)
  self.concurrency = math.max(1, math.min(self.concurrency - 1, active))
  self.max_concurrency = self.concurrency
end

function Pace:calm(now)
  if now - self.changed_at < 0.5 then return end
  self.changed_at = now
  if self.tps and self.tps < self.ceiling then self.tps = math.min(self.ceiling, self.tps * 1.25) end
  if self.concurrency < self.max_concurrency then
    self.concurrency = math.min(self.max_concurrency,
      self.concurrency + math.max(1, math.floor(self.concurrency / 4)))
  end
end

-- How far the batch is: the numbers of the progress line and of the
-- batch.progress event.
local function progress(report, done, started_at)
  local elapsed = core.now() - started_at
  local rate = elapsed > 0 and done / elapsed or 0
  return { done = done, total = report.total, rate = rate, notAccepted = done - report.accepted,
    eta = rate > 0 and (report.total - done) / rate or 0 }
end

local function progress_line(p, final)
  io.stderr:write(string.format("\r[b2c] %d/%d done  %.0f/s  %d not accepted  ETA %ds%s",
    p.done, p.total, p.rate, p.notAccepted, math.floor(p.eta + 0.5), final and "\n" or "  "))
  io.stderr:flush()
end

-- Sends n payouts, each known through `source`: source.check(i) -> true |
-- nil, err (a payout breaking a rule is never sent); source.body(i, ocid)
-- -> its body to send (ocid: the one its first send had, nil before);
-- source.reference(i) -> the caller's reference. o: the checked options.
-- -> report | nil, err when a hook raised (err.kind "hook", err.report).
local function send(client, op, n, source, o)
  local queue = polled.of(client)
  local report = { total = n, accepted = 0, rejected = 0, rejected_retryable = 0, ambiguous = 0,
    unsent = 0, invalid = 0, spikeRetries = 0, stopped = nil, results = o.keepResults and {} or nil }
  local started_at = core.now()
  local done = 0
  local emit = client.emit
  local ocids, tries = {}, {} -- per payout once started: its OCID, how often it was sent
  local waits = {}            -- per payout: how often it found no free file descriptor
  local hook_failure         -- { hook, index, message } once a hook raised

  -- Calls a hook; when it raises, the batch stops (no hook is called again).
  local function call_hook(name, i, ...)
    if not o[name] or hook_failure then return true end
    local ok, why = pcall(o[name], i, ...)
    if ok then return true end
    hook_failure = { hook = name, index = i, message = tostring(why) }
    return false
  end

  local function record(i, ocid, ack, err, class)
    report[class] = report[class] + 1
    done = done + 1
    if report.results then
      report.results[i] = { index = i, originatorConversationId = ocid, ack = ack, err = err,
        outcome = class, sent = class ~= "invalid" and class ~= "unsent",
        reference = source.reference(i) }
    end
    if not report.results then ocids[i], tries[i] = nil, nil end
    call_hook("onResult", i, ack, err)
  end

  -- Every payout is checked first.
  local ready = {}
  for i = 1, n do
    local ok, err = source.check(i)
    if ok then
      ready[#ready + 1] = i
    else
      err.index = i
      record(i, nil, nil, err, "invalid")
    end
  end

  local pace = new_pace(o)
  local head = 1            -- next index in ready
  local retries = {}        -- payouts to send again (spike arrest, no descriptor): { index, at }
  local inflight, active = {}, 0
  local last_progress = 0

  -- Everything not started yet is reported unsent, with why.
  local function stop_starting(why, code)
    local left = {}
    for _, r in ipairs(retries) do left[#left + 1] = r.index end
    for k = head, #ready do left[#left + 1] = ready[k] end
    head, retries = #ready + 1, {}
    for _, i in ipairs(left) do
      record(i, ocids[i], nil, errors.new("api", "not sent: the batch stopped after " .. why,
        { code = code, originatorConversationId = ocids[i], retryable = false, outcome = "unsent" }),
        "unsent")
    end
  end

  -- A hook raised: nothing more leaves. Requests still waiting for a token
  -- never left and are cancelled; those already handed to libcurl finish
  -- and are reported.
  local function halt()
    local why = hook_failure.hook .. " raised"
    for h in pairs(inflight) do queue:cancel(h, "the batch stopped: " .. why) end
    stop_starting(why)
  end

  local function start(i)
    local body = source.body(i, ocids[i])
    ocids[i] = op.ocidField and body[op.ocidField] or nil
    if not tries[i] and not call_hook("onSubmit", i, ocids[i]) then
      -- The OCID may not be stored: this payout must not leave.
      return record(i, ocids[i], nil, errors.new("hook", "not sent: onSubmit raised ("
        .. hook_failure.message .. ")", { originatorConversationId = ocids[i], outcome = "unsent" }),
        "unsent")
    end
    tries[i] = (tries[i] or 0) + 1
    local h = queue:start(request.new(client, op, json.encode(body), ocids[i]))
    inflight[h] = i
    active = active + 1
  end

  local function next_ready(now)
    for k, r in ipairs(retries) do
      if r.at <= now then
        table.remove(retries, k)
        return r.index
      end
    end
    if head <= #ready then
      head = head + 1
      return ready[head - 1]
    end
  end

  local function idle_wait(now)
    local wake = math.huge
    if head <= #ready then wake = pace:wait(now) end
    for _, r in ipairs(retries) do wake = math.min(wake, r.at - now) end
    return math.min(math.max(wake, 0.001), 1)
  end

  -- How long step() may wait for I/O (it returns as soon as an answer
  -- comes): until another payout may start, at most 50 ms. The rate counts
  -- only while a start is possible: below the concurrency, payouts left.
  local function busy_wait(now)
    local wake = 0.05
    if head <= #ready and active < pace.concurrency then wake = pace:wait(now) end
    for _, r in ipairs(retries) do wake = math.min(wake, r.at - now) end
    return math.max(wake, 0.001)
  end

  local function finished(h, i)
    local ack, err = h:result()
    local class = outcome.of(err)
    local now = core.now()
    if class == "rejected_retryable" and not report.stopped and not hook_failure
        and tries[i] <= o.maxSpikeRetries then
      report.spikeRetries = report.spikeRetries + 1
      pace:spiked(now)
      local backoff = math.min(8, 0.25 * 2 ^ (tries[i] - 1)) * (0.75 + math.random() * 0.5)
      retries[#retries + 1] = { index = i, at = now + backoff }
      if emit then
        emit({ name = "request.retry", operation = op.namespace, ocid = ocids[i], index = i,
          reason = "spike_arrest", try = tries[i] + 1, delay = backoff })
      end
      return
    end
    -- No descriptor free, nothing sent: send it again once another request
    -- has finished (never again as many at once), or, with none in flight,
    -- a few times after a short wait (a kept-alive connection may serve it).
    local limit = active > 0 and MAX_DESCRIPTOR_WAITS or MAX_IDLE_DESCRIPTOR_WAITS
    if err and err.cause == "descriptors" and not report.stopped and not hook_failure
        and (waits[i] or 0) < limit then
      waits[i] = (waits[i] or 0) + 1
      pace:exhausted(active)
      retries[#retries + 1] = { index = i, at = active > 0 and now or now + 0.05 * waits[i] }
      if emit then
        emit({ name = "request.retry", operation = op.namespace, ocid = ocids[i], index = i,
          reason = "descriptors", try = tries[i] + 1 })
      end
      return
    end
    record(i, ocids[i], ack, err, class)
    if err and err.kind == "api" and err.code == QUOTA and not report.stopped then
      report.stopped = err.message
      stop_starting(err.message, err.code)
    end
  end

  while head <= #ready or #retries > 0 or active > 0 do
    local now = core.now()
    pace:calm(now)
    while not hook_failure and pace:may_start(now, active) do
      local i = next_ready(now)
      if not i then break end
      start(i)
      pace:started(now)
    end
    if hook_failure then halt() end
    if active > 0 then
      client:step(busy_wait(now))
      for h, i in pairs(inflight) do
        if h.done then
          inflight[h] = nil
          active = active - 1
          finished(h, i)
        end
      end
      if hook_failure then halt() end
    elseif head <= #ready or #retries > 0 then
      core.sleep(idle_wait(now)) -- nothing in flight: wait for the rate or a retry
    end
    if (o.progress or emit) and core.now() - last_progress >= 0.25 then
      last_progress = core.now()
      local p = progress(report, done, started_at)
      if o.progress then progress_line(p) end
      if emit then
        p.name, p.operation = "batch.progress", op.namespace
        emit(p)
      end
    end
  end
  if o.progress then progress_line(progress(report, done, started_at), true) end
  report.seconds = core.now() - started_at
  if emit then
    local e = { name = "batch.done", operation = op.namespace, stopped = report.stopped,
      seconds = report.seconds }
    for _, class in ipairs({ "total", "accepted", "rejected", "rejected_retryable", "ambiguous",
      "unsent", "invalid", "spikeRetries" }) do
      e[class] = report[class]
    end
    emit(e)
  end
  if hook_failure then
    local sent = report.accepted + report.rejected + report.rejected_retryable + report.ambiguous
    return nil, errors.new("hook", string.format("sendBatch stopped: %s raised for payouts[%d] "
      .. "(%s); nothing more was sent; %d payouts had left, their outcomes are in err.report "
      .. "(%d accepted, %d ambiguous)", hook_failure.hook, hook_failure.index,
      hook_failure.message:sub(1, 200), sent, report.accepted, report.ambiguous),
      { index = hook_failure.index, hook = hook_failure.hook, report = report })
  end
  return report
end

-- batch.run(client, op, payouts, options): sendBatch -> report, or
-- nil, err when the list has holes (nothing sent) or a hook raised
-- (err.kind "hook", err.report: the outcomes of everything that left,
-- nothing more sent). Each payout is checked first; only its index is
-- kept: its body is built (and the OCID made) each time it is sent, so
-- memory stays small.
function batch.run(client, op, payouts, options)
  if type(payouts) ~= "table" then error("sendBatch: payouts must be a list of tables", 3) end
  local o = check_options(options)
  local n, bad = check_list(payouts)
  if not n then return nil, bad end
  return send(client, op, n, {
    check = function(i)
      local p = payouts[i]
      if type(p) ~= "table" then error("sendBatch: payouts[" .. i .. "] is not a table", 3) end
      return op.build(client, p, "checked-only")
    end,
    -- a caller's own OCID in payouts[i] wins in op.build
    body = function(i, ocid) return assert(op.build(client, payouts[i], ocid or core.uuid())) end,
    reference = function(i) return payouts[i].reference end,
  }, o)
end

-- batch.run_built(client, op, n, build, options): the same for an internal
-- caller (the ledger) that builds its payouts itself, each OCID included:
-- build(i) -> the body of payout i | nil, err, called once per payout
-- before any leaves; that body is what is sent, and sent again on spike
-- arrest. Options and the report as sendBatch's (no references).
function batch.run_built(client, op, n, build, options)
  local o = check_options(options)
  local bodies = {}
  return send(client, op, n, {
    check = function(i)
      local body, err = build(i)
      bodies[i] = body
      return body, err
    end,
    body = function(i) return bodies[i] end,
    reference = function() return nil end,
  }, o)
end

return batch
