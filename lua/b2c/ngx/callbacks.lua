-- b2c.ngx.handle_result and b2c.ngx.handle_queue_timeout: the whole
-- ResultURL / QueueTimeOutURL content handler (content_by_lua): reads and
-- checks the callback, hands it to the caller's function and answers
-- Daraja; a refused or unprocessed callback is logged.
--
-- luacheck: globals ngx
local errors = require("b2c.errors")

local M = {}

local DEFAULT_MAX_BODY = 64 * 1024

local function respond(status, code, desc)
  local json = require("b2c.json")
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(json.encode({ ResultCode = code, ResultDesc = desc }))
end

-- The request body (at most `limit` bytes), or nil, status, reason.
local function read_body(limit)
  local declared = tonumber(ngx.var.http_content_length or "")
  if declared and declared > limit then
    return nil, 413, "body larger than " .. limit .. " bytes"
  end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body == nil then
    -- Larger than client_body_buffer_size: nginx kept it in a temporary file.
    local path = ngx.req.get_body_file()
    if path then
      local f = io.open(path, "rb")
      if not f then return nil, 500, "could not read the request body" end
      body = f:read(limit + 1)
      f:close()
    end
  end
  if body == nil or body == "" then return nil, 400, "empty body" end
  if #body > limit then return nil, 413, "body larger than " .. limit .. " bytes" end
  return body
end

-- Text from a request made safe for one log line: at most `max` bytes,
-- every byte outside printable ASCII (and the backslash) as \xNN.
local function printable(text, max)
  local cut = #text > max
  local out = text:sub(1, max):gsub("[%z\1-\31\92\127-\255]", function(c)
    return string.format("\\x%02x", c:byte())
  end)
  return cut and out .. "..." or out
end

-- Answers a callback it refuses, and logs why: a result that never gets
-- recorded must leave a trace. The log line names the reason, the size, the
-- sender and the OriginatorConversationID if the body seems to have one.
local function refuse(name, status, reason, body)
  respond(status, 1, "Rejected: " .. reason)
  local ocid = body and body:match('"OriginatorConversationID"%s*:%s*"([^"]*)"')
  ngx.log(ngx.WARN, "b2c.ngx.", name, ": refused a callback (HTTP ", status, "): ",
    printable(reason, 200), ocid and "; OriginatorConversationID \"" .. printable(ocid, 64) .. "\"" or "",
    "; ", body and #body or 0, " bytes from ", ngx.var.remote_addr or "?")
end

local function handle(name, parse, callback, opts)
  if type(callback) ~= "function" then
    error("b2c.ngx." .. name .. ": expected a function, got " .. type(callback), 3)
  end
  opts = opts or {}
  local limit = opts.maxBodyBytes or DEFAULT_MAX_BODY
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    local reason = "method " .. ngx.req.get_method() .. " is not POST"
    refuse(name, 405, reason)
    return nil, errors.new("callback", reason)
  end
  local body, status, reason = read_body(limit)
  if not body then
    refuse(name, status, reason)
    return nil, errors.new("callback", reason)
  end
  local parsed, err = parse(body, opts) -- opts.events: callback.read / callback.refused
  if not parsed then
    refuse(name, 400, err.message, body)
    return nil, err
  end
  local ok, outcome = pcall(callback, parsed, body)
  if not ok or outcome == false then
    -- Not acknowledged: Daraja delivers again later.
    local why = not ok and tostring(outcome) or "the handler returned false"
    ngx.log(ngx.ERR, "b2c.ngx.", name, ": not acknowledged: ", why)
    respond(500, 1, "Not processed, please retry")
    return nil, errors.new("callback", "not acknowledged: " .. why)
  end
  respond(200, 0, "Accepted")
  return parsed
end

-- b2c.ngx.handle_result(on_result, opts) -> result | nil, err
function M.handle_result(on_result, opts)
  return handle("handle_result", require("b2c.callbacks.result").parse, on_result, opts)
end

-- b2c.ngx.handle_queue_timeout(on_timeout, opts) -> note | nil, err
function M.handle_queue_timeout(on_timeout, opts)
  return handle("handle_queue_timeout", require("b2c.callbacks.result").parse_queue_timeout, on_timeout, opts)
end

return M
