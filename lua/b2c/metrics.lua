-- b2c.metrics: the events (b2c.events) counted, as counters and latency
-- histograms in Prometheus's text exposition format.
--
--   local metrics = require("b2c.metrics").new()            -- this Lua state
--   local metrics = require("b2c.metrics").new{ dict = "b2c_metrics" }  -- nginx
--   local mpesa = b2c.new{ ..., events = metrics.event }
--   print(metrics:render())
--
-- With dict (a lua_shared_dict) every nginx worker and every pool thread
-- adds to the same numbers, so one `location /metrics` shows them all.
-- luacheck: globals ngx
local metrics = {}

-- Seconds; the last bucket is +Inf.
metrics.BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 }

-- The families, in the order rendered: name, type, help.
local FAMILIES = {
  { "b2c_requests_total", "counter", "Requests handed to the transport, by operation (a resend counts again)." },
  { "b2c_answers_total", "counter", "Complete HTTP answers from Daraja, by operation and status." },
  { "b2c_answer_seconds", "histogram", "Seconds from handing a request to the transport to its answer." },
  { "b2c_outcomes_total", "counter", "Calls ended, by operation, outcome class and error kind (none when accepted)." },
  { "b2c_outcome_seconds", "histogram", "Seconds from the start of a call to its outcome, token included." },
  { "b2c_retries_total", "counter", "Requests sent again, by operation and reason." },
  { "b2c_token_fetches_total", "counter", "Access tokens obtained or not, by source (daraja, store) and result." },
  { "b2c_token_fetch_seconds", "histogram", "Seconds a token fetch from Daraja took." },
  { "b2c_token_refusals_total", "counter",
    "Tokens the gateway refused (the request then went again with a fresh one)." },
  { "b2c_callbacks_total", "counter", "Callbacks read or refused, by callback (result, queueTimeout) and result." },
  { "b2c_ledger_transitions_total", "counter", "Ledger payouts moved from one state to another." },
}

local function number_text(v)
  if v == math.huge then return "+Inf" end
  if v == math.floor(v) and v > -1e15 and v < 1e15 then return string.format("%d", v) end
  return string.format("%.10g", v)
end

-- A label value, quoted and escaped; memoised: label values are few
-- (operations, classes, statuses, ...) and this runs for every event.
local quoted = {}
local function q(v)
  if v == nil then v = "" end
  local text = quoted[v]
  if not text then
    text = '"' .. tostring(v):gsub('[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }) .. '"'
    quoted[v] = text
  end
  return text
end

-- Storage: incr(key, n) and all() -> { key = value }. A key is a series:
-- 'family{labels}' for a counter, with a suffix for a histogram's parts
-- ('le=<bound>' one bucket, not cumulative; 'sum').
local function local_store()
  local t = {}
  return {
    incr = function(key, n) t[key] = (t[key] or 0) + n end,
    all = function() return t end,
  }
end

local function dict_store(name)
  local shared = rawget(_G, "ngx") and ngx.shared
  local dict = shared and shared[name]
  if not dict then
    error("b2c.metrics.new: dict: no lua_shared_dict named " .. tostring(name)
      .. " (declare it in nginx.conf: lua_shared_dict " .. tostring(name) .. " 1m;)", 3)
  end
  return {
    incr = function(key, n)
      local ok, err = dict:incr(key, n, 0)
      if not ok then error("b2c.metrics: lua_shared_dict " .. name .. ": " .. tostring(err), 0) end
    end,
    all = function()
      local t = {}
      for _, key in ipairs(dict:get_keys(0)) do t[key] = dict:get(key) end
      return t
    end,
  }
end

local Metrics = {}
Metrics.__index = Metrics

function Metrics:count(family, label_text, n)
  self.store.incr(family .. "{" .. label_text .. "}", n or 1)
end

function Metrics:observe(family, label_text, seconds)
  if type(seconds) ~= "number" then return end
  local bound = "+Inf"
  for i, b in ipairs(self.buckets) do
    if seconds <= b then
      bound = self.bounds[i]
      break
    end
  end
  local series = family .. "{" .. label_text .. "}"
  self.store.incr(series .. "le=" .. bound, 1)
  self.store.incr(series .. "sum", seconds)
end

-- What each event adds.
local COUNT = {
  ["request.sent"] = function(m, e)
    m:count("b2c_requests_total", "operation=" .. q(e.operation))
  end,
  ["request.answered"] = function(m, e)
    local operation = "operation=" .. q(e.operation)
    m:count("b2c_answers_total", operation .. ",status=" .. q(e.status))
    m:observe("b2c_answer_seconds", operation, e.latency)
  end,
  ["outcome"] = function(m, e)
    local operation = "operation=" .. q(e.operation)
    m:count("b2c_outcomes_total", operation .. ",class=" .. q(e.class) .. ",kind=" .. q(e.kind or "none"))
    m:observe("b2c_outcome_seconds", operation, e.latency)
  end,
  ["request.retry"] = function(m, e)
    m:count("b2c_retries_total", "operation=" .. q(e.operation) .. ",reason=" .. q(e.reason))
  end,
  ["token.fetched"] = function(m, e)
    m:count("b2c_token_fetches_total", "source=" .. q(e.source) .. ',result="ok"')
    if e.source == "daraja" then m:observe("b2c_token_fetch_seconds", "", e.latency) end
  end,
  ["token.failed"] = function(m, e)
    m:count("b2c_token_fetches_total", 'source="daraja",result="failed"')
    m:observe("b2c_token_fetch_seconds", "", e.latency)
  end,
  ["token.refused"] = function(m, e)
    m:count("b2c_token_refusals_total", "operation=" .. q(e.operation))
  end,
  ["callback.read"] = function(m, e)
    m:count("b2c_callbacks_total", "callback=" .. q(e.callback) .. ',result="read"')
  end,
  ["callback.refused"] = function(m, e)
    m:count("b2c_callbacks_total", "callback=" .. q(e.callback) .. ',result="refused"')
  end,
  ["ledger.state"] = function(m, e)
    m:count("b2c_ledger_transitions_total", "from=" .. q(e.from or "none") .. ",to=" .. q(e.to), e.count)
  end,
}

-- metrics:add(event): counts one event (events it does not count are ignored).
function Metrics:add(event)
  local count = COUNT[event.name]
  if count then count(self, event) end
end

-- name{labels}, or name alone when there are none.
local function series_name(name, label_text)
  if label_text == "" then return name end
  return name .. "{" .. label_text .. "}"
end

-- The exposition text of one family from the stored series.
local function render_family(out, family, kind, help, series)
  if not next(series) then return end
  out[#out + 1] = "# HELP " .. family .. " " .. help
  out[#out + 1] = "# TYPE " .. family .. " " .. kind
  local sets = {}
  for label_text in pairs(series) do sets[#sets + 1] = label_text end
  table.sort(sets)
  for _, label_text in ipairs(sets) do
    local s = series[label_text]
    if kind == "counter" then
      out[#out + 1] = series_name(family, label_text) .. " " .. number_text(s.value)
    else
      table.sort(s.buckets, function(a, b) return a[1] < b[1] end)
      local sep = label_text == "" and "" or ","
      local total = 0
      for _, b in ipairs(s.buckets) do
        total = total + b[2]
        if b[1] ~= math.huge then
          out[#out + 1] = string.format("%s_bucket{%s%sle=\"%s\"} %s", family, label_text, sep,
            number_text(b[1]), number_text(total))
        end
      end
      out[#out + 1] = string.format("%s_bucket{%s%sle=\"+Inf\"} %s", family, label_text, sep,
        number_text(total))
      out[#out + 1] = series_name(family .. "_sum", label_text) .. " " .. number_text(s.sum)
      out[#out + 1] = series_name(family .. "_count", label_text) .. " " .. number_text(total)
    end
  end
end

-- metrics:render() -> the text for Prometheus (version 0.0.4 of the format).
-- A histogram shows every bucket bound of this object's buckets, so the
-- series do not depend on which latencies happened.
function Metrics:render()
  local by_family = {}
  for _, f in ipairs(FAMILIES) do by_family[f[1]] = {} end
  for key, value in pairs(self.store.all()) do
    local family, label_text, part = key:match("^([%w_]+){(.*)}([^}]*)$")
    local series = family and by_family[family]
    if series then
      local s = series[label_text]
      if not s then
        s = { value = 0, sum = 0, buckets = {} }
        series[label_text] = s
      end
      if part == "" then
        s.value = value
      elseif part == "sum" then
        s.sum = value
      else
        local bound = part == "le=+Inf" and math.huge or tonumber(part:match("^le=(.+)$"))
        if bound then s.buckets[#s.buckets + 1] = { bound, value } end
      end
    end
  end
  local out = {}
  for _, f in ipairs(FAMILIES) do
    local series = by_family[f[1]]
    if f[2] == "histogram" then
      for _, s in pairs(series) do
        local have = {}
        for _, b in ipairs(s.buckets) do have[b[1]] = true end
        for _, bound in ipairs(self.buckets) do
          if not have[bound] then s.buckets[#s.buckets + 1] = { bound, 0 } end
        end
      end
    end
    render_family(out, f[1], f[2], f[3], series)
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

-- In an nginx handler: answers the request with render()'s text.
function Metrics:serve()
  ngx.header["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(self:render())
end

local OPTIONS = { dict = true, buckets = true }

-- metrics.new{ dict = name, buckets = { seconds, ... } } -> metrics, whose
-- metrics.event (a plain function, not a method) is the events hook.
function metrics.new(options)
  options = options or {}
  if type(options) ~= "table" then error("b2c.metrics.new: options must be a table", 2) end
  for k in pairs(options) do
    if not OPTIONS[k] then error("b2c.metrics.new: " .. tostring(k) .. ": is not an option (dict, buckets)", 2) end
  end
  local buckets = options.buckets or metrics.BUCKETS
  if type(buckets) ~= "table" or #buckets == 0 then
    error("b2c.metrics.new: buckets: must be a list of seconds in ascending order", 2)
  end
  for i, b in ipairs(buckets) do
    if type(b) ~= "number" or b ~= b or b <= 0 or b == math.huge or (i > 1 and b <= buckets[i - 1]) then
      error("b2c.metrics.new: buckets: must be a list of seconds in ascending order (finite, > 0)", 2)
    end
  end
  if options.dict ~= nil and type(options.dict) ~= "string" then
    error("b2c.metrics.new: dict: must be the name of a lua_shared_dict", 2)
  end
  local bounds = {}
  for i, b in ipairs(buckets) do bounds[i] = number_text(b) end
  local self = setmetatable({ buckets = buckets, bounds = bounds,
    store = options.dict and dict_store(options.dict) or local_store() }, Metrics)
  self.event = function(event) self:add(event) end
  return self
end

return metrics
