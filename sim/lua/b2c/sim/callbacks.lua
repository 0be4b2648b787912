-- Outgoing result notifications (POSTs to ResultURL / QueueTimeOutURL).
--
-- Each delivery is a task on the simulator's event loop: it sleeps for the
-- callback delay, then POSTs the JSON. A refused connection, a timeout or a
-- non-2xx answer is retried after the configured backoff, up to the
-- configured number of attempts. Every attempt is recorded for /sim/stats,
-- each delivery's outcome is one line of the log;
-- the records keep the newest `callbackHistory` deliveries, the counts
-- cover all of them.
local http = require("b2c.sim.http")
local json = require("b2c.sim.json")
local socket = require("socket")

local M = {}

local Dispatcher = {}
Dispatcher.__index = Dispatcher

--- settings() must return a table with callbackAttempts, callbackBackoff
-- (list of seconds), callbackTimeout, callbackHistory.
function M.new(loop, settings, log)
  return setmetatable({
    loop = loop,
    settings = settings,
    log = log or function() end,
    records = {},
    first = 1,      -- records[first..last] is the history kept
    last = 0,
    epoch = 0,
    next_id = 0,
    waiting = setmetatable({}, { __mode = "k" }), -- record -> task sleeping its delay
  }, Dispatcher)
end

--- Forget every record and abandon deliveries not made yet.
function Dispatcher:reset()
  self.records = {}
  self.byId = {}
  self.first, self.last = 1, 0
  self.counts = { total = 0, delivered = 0, failed = 0, truncated = 0 }
  self.epoch = self.epoch + 1
end

-- Drop the oldest records beyond `limit`.
function Dispatcher:trim(limit)
  while self.last - self.first + 1 > limit do
    self.byId[self.records[self.first].id] = nil
    self.records[self.first] = nil
    self.first = self.first + 1
    self.counts.truncated = self.counts.truncated + 1
  end
end

--- The records kept, oldest first.
function Dispatcher:history()
  local list = {}
  for i = self.first, self.last do
    list[#list + 1] = self.records[i]
  end
  return list
end

--- The record of callback `id`, while the history keeps it.
function Dispatcher:find(id)
  return self.byId[id]
end

--- The records kept of payout `ocid`'s callbacks, oldest first.
function Dispatcher:of_payout(ocid)
  local list = {}
  for i = self.first, self.last do
    if self.records[i].ocid == ocid then
      list[#list + 1] = self.records[i]
    end
  end
  return list
end

--- Cut the delay of a callback still waiting for it: its first attempt
-- goes out now. False when it is not waiting (sent, or being sent).
function Dispatcher:hurry(record)
  local co = self.waiting[record]
  return co ~= nil and self.loop:wake(co)
end

-- One line per delivery for the terminal log.
local function outcome_line(record, attempts, seconds)
  local how = record.delivered and ("delivered HTTP " .. record.status)
    or ("failed " .. (record.status and ("HTTP " .. record.status) or tostring(record.error)))
  return string.format("callback #%d %s ocid=%s to=%s %s attempts=%d/%d in %.3fs", record.id, record.kind,
    tostring(record.ocid), record.url, how, record.attempts, attempts, seconds)
end

--- Deliver `body` (JSON text) to `url` after `delay` seconds.
-- info: kind ("result" or "timeout"), ocid, conversationId, api,
-- redelivery (the id of the callback sent again).
function Dispatcher:schedule(url, body, delay, info)
  self.next_id = self.next_id + 1
  local record = {
    id = self.next_id,
    kind = info.kind or "result",
    api = info.api,
    url = url,
    ocid = info.ocid,
    conversationId = info.conversationId,
    redelivery = info.redelivery,
    attempts = 0,
    delivered = false,
    pending = true,
    attemptLog = json.array(),
    payload = json.raw(body),
  }
  self.last = self.last + 1
  self.records[self.last] = record
  self.byId[record.id] = record
  local counts = self.counts
  counts.total = counts.total + 1
  self:trim(self.settings().callbackHistory)
  local epoch = self.epoch
  local loop = self.loop
  loop:spawn(function()
    self.waiting[record] = coroutine.running()
    loop:sleep(delay or 0)
    self.waiting[record] = nil
    local began = socket.gettime()
    local s = self.settings()
    local attempts = math.max(1, math.floor(s.callbackAttempts or 3))
    local backoff = s.callbackBackoff or { 0.2, 0.5 }
    for attempt = 1, attempts do
      if self.epoch ~= epoch then
        return
      end
      record.attempts = attempt
      local started = socket.gettime()
      local status, err = http.post(loop, url, body, { timeout = s.callbackTimeout or 5,
        cancelled = function() return self.epoch ~= epoch end })
      if self.epoch ~= epoch then
        return -- reset while it waited for a socket
      end
      local entry = { at = started, seconds = socket.gettime() - started }
      if status then
        entry.status = status
        record.status = status
      else
        entry.error = err
        record.error = err
      end
      table.insert(record.attemptLog, entry)
      if status and status >= 200 and status < 300 then
        record.delivered = true
        record.error = nil
        break
      end
      if err and err:match("^refused URL") then
        break
      end
      if attempt < attempts then
        loop:sleep(backoff[attempt] or backoff[#backoff] or 0.5)
      end
    end
    record.pending = false
    self.log(outcome_line(record, attempts, socket.gettime() - began))
    if self.epoch == epoch then
      if record.delivered then
        counts.delivered = counts.delivered + 1
      else
        counts.failed = counts.failed + 1
      end
    end
  end)
  return record
end

return M
