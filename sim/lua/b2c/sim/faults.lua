-- Fault injection: parsing fault specs and choosing the fault for a request.
--
-- A spec is a comma-separated list of actions:
--   delay=<seconds>  answer after this many seconds (the request is processed)
--   drop             process the request, then close without answering
--   truncate         process, answer 200 with a Content-Length larger than
--                    the body sent, close
--   spike            500 500.003.02 Spike Arrest Violation (not processed)
--   quota            500 500.003.03 Quota Violation (not processed)
--   html403          403 with an HTML page (not processed)
--   internal         500 500.001.1001 Internal Server Error (not processed)
--   none             no fault (overrides a global fault for one request)
--   oversize         process, answer 200 with the JSON padded to 1 MiB
--   trickle          process, send the answer one byte a second
--   bare502          process, answer 502 with an empty body (a proxy that
--                    lost the gateway's answer)
-- e.g. "delay=1.5,drop".
local M = {}

local SIMPLE = {
  drop = true, truncate = true, spike = true, quota = true, html403 = true,
  internal = true, none = true, oversize = true, trickle = true, bare502 = true,
}

--- Parse a spec. Returns a fault {spec=, delay=, action=} or nil, message.
-- `action` is the one non-delay action (nil for a pure delay).
function M.parse(spec)
  if type(spec) ~= "string" or spec == "" then
    return nil, "empty fault spec"
  end
  local fault = { spec = spec, delay = 0 }
  for item in spec:gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    local seconds = item:match("^delay=(.+)$")
    if seconds then
      local n = tonumber(seconds)
      if not n or n < 0 or n > 3600 then
        return nil, "bad delay in fault spec: " .. item
      end
      fault.delay = fault.delay + n
    elseif SIMPLE[item] then
      if fault.action and fault.action ~= item then
        return nil, "fault spec has two actions: " .. spec
      end
      fault.action = item
    else
      return nil, "unknown fault: " .. item
    end
  end
  if fault.action == "none" then
    fault.action = nil
  end
  return fault
end

--- Parse a global fault from the command line: SPEC[:count=N][:path=PATH].
function M.parse_cli(text)
  local parts = {}
  for p in text:gmatch("[^:]+") do
    parts[#parts + 1] = p
  end
  local t = { spec = parts[1] }
  for i = 2, #parts do
    local k, v = parts[i]:match("^(%a+)=(.*)$")
    if k == "count" then
      t.count = tonumber(v)
      if not t.count then
        return nil, "bad count in --fault " .. text
      end
    elseif k == "path" then
      t.path = v
    else
      return nil, "bad option in --fault " .. text .. " (use SPEC[:count=N][:path=PATH])"
    end
  end
  return M.global(t)
end

--- A global fault from a table {spec=, count=, path=}.
function M.global(t)
  if type(t) ~= "table" then
    return nil, "fault must be an object {spec, count, path}"
  end
  local fault, err = M.parse(t.spec)
  if not fault then
    return nil, err
  end
  if t.count ~= nil then
    local n = math.tointeger(tonumber(t.count))
    if not n or n < 1 then
      return nil, "fault count must be a positive whole number"
    end
    fault.count = n
  end
  if t.path ~= nil then
    if type(t.path) ~= "string" or t.path:sub(1, 1) ~= "/" then
      return nil, "fault path must start with /"
    end
    fault.path = t.path
  end
  return fault
end

--- True when a global fault applies to a request path. No path means every
-- path outside /sim/; "PREFIX*" matches by prefix; anything else exactly.
function M.applies(fault, path)
  if not fault.path then
    return path:sub(1, 5) ~= "/sim/"
  end
  local prefix = fault.path:match("^(.*)%*$")
  if prefix then
    return path:sub(1, #prefix) == prefix
  end
  return path == fault.path
end

--- Take the first global fault that applies to `path`, counting it down.
function M.take(list, path)
  for i, fault in ipairs(list) do
    if M.applies(fault, path) then
      if fault.count then
        fault.count = fault.count - 1
        if fault.count <= 0 then
          table.remove(list, i)
        end
      end
      return fault
    end
  end
  return nil
end

--- Describe the remaining global faults (for /sim/stats).
function M.describe(list)
  local out = {}
  for _, f in ipairs(list) do
    out[#out + 1] = { spec = f.spec, count = f.count, path = f.path }
  end
  return out
end

return M
