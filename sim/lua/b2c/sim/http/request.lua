-- The server side of a request: its request line, headers and body read
-- from a connection, with the limits and the refusals (400, 413, 431).
local socket = require("socket")
local message = require("b2c.sim.http.message")
local response = require("b2c.sim.http.response")

local M = {}

local function url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_query(q)
  local t = {}
  for pair in (q or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    t[url_decode(k)] = url_decode(v)
  end
  return t
end

--- Read one request. limits: read_timeout (seconds for the rest of the
-- request once its first line came), max_body, began() (called when the
-- request line has arrived). Returns req, or nil, err, response-to-send-or-nil.
function M.read(conn, first_deadline, limits)
  local error_response = response.error
  local line, err = conn:line(first_deadline, message.MAX_HEADER_BYTES)
  -- tolerate empty lines between requests
  while line == "" do
    line, err = conn:line(first_deadline, message.MAX_HEADER_BYTES)
  end
  if not line then
    if err == "too long" then
      return nil, err, error_response(431, "Request line too long")
    end
    return nil, err
  end
  limits.began()
  local deadline = socket.gettime() + limits.read_timeout
  local method, target, version = line:match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then
    return nil, "bad request line", error_response(400, "Bad request line")
  end
  local headers, list = message.read_headers(conn, deadline)
  if not headers then
    if list == "too long" then
      return nil, list, error_response(431, "Request headers too large")
    end
    return nil, list, list ~= "closed" and error_response(400, "Bad request headers") or nil
  end
  local cl = headers["content-length"]
  if cl and tonumber(cl:match("^%s*(%d+)%s*$") or "") and tonumber(cl) > limits.max_body then
    return nil, "too large", error_response(413, "Request body too large")
  end
  if (headers.expect or ""):lower() == "100-continue" then
    conn:send("HTTP/1.1 100 Continue\r\n\r\n", deadline)
  end
  local body, berr = message.read_body(conn, headers, limits.max_body, deadline, false)
  if not body then
    if berr == "too large" then
      return nil, berr, error_response(413, "Request body too large")
    elseif berr == "bad length" or berr == "bad chunk" then
      return nil, berr, error_response(400, "Bad request body")
    end
    return nil, berr
  end
  local path, query = target:match("^([^?]*)%??(.*)$")
  local conn_header = (headers.connection or ""):lower()
  local keep_alive
  if version == "1.0" then
    keep_alive = conn_header:find("keep-alive", 1, true) ~= nil
  else
    keep_alive = conn_header:find("close", 1, true) == nil
  end
  return {
    method = method,
    target = target,
    path = path,
    query_string = query,
    query = parse_query(query),
    version = version,
    headers = headers,
    header_list = list,
    body = body,
    keep_alive = keep_alive,
    peer = conn.peer,
  }
end

return M
