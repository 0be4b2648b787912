-- The events hook: b2c.new{ events = hook }, b2c.ledger.open(url, { events
-- = hook }) and the callback parsers' { events = hook } call hook(event)
-- with a plain table for each thing that happens (docs/observability.md: the list). This
-- file checks a hook, guards it, and writes the structured log line.
--
-- A hook that raises never breaks the call it watches: the error is caught,
-- written once to io.stderr (nginx's error log in OpenResty) and the call
-- goes on; later errors of the same hook are counted, not written.
local errors = require("b2c.errors")

local events = {}

-- events.check(value, field) -> hook (a function) or nil when none; nil,
-- err when value is neither a function nor the name of a module whose value
-- is a function or a table with a function `event`. The module form is for
-- b2c.ngx: a function cannot cross into a pool thread's Lua VM, a name can.
function events.check(value, field)
  if value == nil then return nil end
  if type(value) == "function" then return value end
  if type(value) ~= "string" then
    return nil, errors.config(field, "must be a function(event) or the name of a module that "
      .. "returns one, got " .. type(value))
  end
  local ok, m = pcall(require, value)
  if not ok then
    return nil, errors.config(field, string.format("module %q could not be loaded: %s", value,
      tostring(m):match("^[^\n]*")))
  end
  if type(m) == "function" then return m end
  if type(m) == "table" and type(m.event) == "function" then return m.event end
  return nil, errors.config(field, string.format("module %q must return a function(event) or a "
    .. "table with a function event, got %s", value, type(m)))
end

-- How often each hook raised (weak: a hook no longer used goes away).
local failures = setmetatable({}, { __mode = "k" })

-- events.deliver(hook, event): hook(event), which never raises here.
function events.deliver(hook, event)
  local ok, why = pcall(hook, event)
  if ok then return end
  local n = (failures[hook] or 0) + 1
  failures[hook] = n
  if n == 1 then
    io.stderr:write(string.format("b2c: the events hook raised on %s (%s); the call went on, and "
      .. "later errors of this hook are not reported\n", tostring(event.name),
      tostring(why):sub(1, 300)))
  end
end

-- events.emitter(hook) -> emit(event) delivering to hook, or nil when hook
-- is nil (call sites skip building events then).
function events.emitter(hook)
  if hook == nil then return nil end
  return function(event) events.deliver(hook, event) end
end

-- An event about request r (its operation and OCID added), delivered
-- through r.emit when r has one.
function events.about(r, event)
  if r and r.emit then
    event.operation, event.ocid = r.operation, r.ocid
    r.emit(event)
  end
end

-- How often hook has raised so far.
function events.failures(hook)
  return failures[hook] or 0
end

---------------------------------------------------------------------------
-- The structured log line
---------------------------------------------------------------------------

local FIRST = { "event", "operation", "ocid" }

local function number_text(v)
  if v == math.floor(v) and v > -1e15 and v < 1e15 then return string.format("%d", v) end
  return string.format("%.6g", v)
end

-- A value in logfmt: bare when it is a plain word, else quoted with \" \\
-- and control bytes escaped, so that one event is one line.
local function logfmt_value(v)
  if type(v) == "number" then return number_text(v) end
  local s = tostring(v)
  if s ~= "" and not s:find('[%s"=\\%c]') then return s end
  return '"' .. s:gsub('[\\"]', "\\%0"):gsub("%c", function(c)
    return string.format("\\x%02x", c:byte())
  end) .. '"'
end

local function ordered_keys(t)
  local keys, rest = {}, {}
  for _, k in ipairs(FIRST) do
    if t[k] ~= nil then keys[#keys + 1] = k end
  end
  for k in pairs(t) do
    if k ~= "event" and k ~= "operation" and k ~= "ocid" and k ~= "time" then rest[#rest + 1] = k end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys
end

local function json_value(v)
  if type(v) == "number" then return number_text(v) end
  if type(v) == "boolean" then return tostring(v) end
  return require("b2c.json").encode(tostring(v))
end

local FORMATS = {
  logfmt = function(time, t)
    local parts = { "time=" .. time }
    for _, k in ipairs(ordered_keys(t)) do parts[#parts + 1] = k .. "=" .. logfmt_value(t[k]) end
    return table.concat(parts, " ")
  end,
  json = function(time, t)
    local parts = { '"time":"' .. time .. '"' }
    for _, k in ipairs(ordered_keys(t)) do
      parts[#parts + 1] = json_value(k) .. ":" .. json_value(t[k])
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end,
}

local LOG_OPTIONS = { writer = true, format = true, clock = true }

-- events.log{ writer = function(line) | file, format = "logfmt" | "json" }
-- -> hook: one line per event (no newline inside it), with its UTC time
-- first and the event's name as "event". writer: a function given the line
-- (no trailing newline) or a file written with line .. "\n" (default
-- io.stderr). clock: a function returning epoch seconds (default os.time).
function events.log(options)
  options = options or {}
  if type(options) ~= "table" then error("b2c.events.log: options must be a table", 2) end
  for k in pairs(options) do
    if not LOG_OPTIONS[k] then
      error("b2c.events.log: " .. tostring(k) .. ": is not an option (writer, format, clock)", 2)
    end
  end
  local format = FORMATS[options.format or "logfmt"]
  if not format then error('b2c.events.log: format: must be "logfmt" or "json"', 2) end
  local writer = options.writer or io.stderr
  local write
  if type(writer) == "function" then
    write = writer
  elseif (type(writer) == "userdata" or type(writer) == "table") and writer.write then
    write = function(line) writer:write(line, "\n") end
  else
    error("b2c.events.log: writer: must be a function(line) or a file", 2)
  end
  local clock = options.clock or os.time
  if type(clock) ~= "function" then error("b2c.events.log: clock: must be a function", 2) end
  local second, stamp -- the last second formatted, and its text
  return function(event)
    local t = {}
    for k, v in pairs(event) do
      if k == "name" then t.event = v elseif type(k) == "string" then t[k] = v end
    end
    local now = clock()
    if now ~= second then second, stamp = now, os.date("!%Y-%m-%dT%H:%M:%SZ", now) end
    write(format(stamp, t))
  end
end

return events
