-- The server side of an answer: the status line and headers, and how it
-- goes on the wire, including the wire-level faults a handler may ask for
-- (drop, truncate, trickle), which is why the framing is written by hand.
local socket = require("socket")

local M = {}

M.REASONS = {
  [100] = "Continue", [200] = "OK", [201] = "Created", [202] = "Accepted",
  [204] = "No Content", [400] = "Bad Request", [401] = "Unauthorized",
  [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [408] = "Request Timeout", [411] = "Length Required",
  [413] = "Payload Too Large", [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented",
  [502] = "Bad Gateway", [503] = "Service Unavailable",
}

--- Status line and headers of res (Content-Length: declared_length, or the
-- body's length, unless res has one).
function M.head(res, keep_alive, declared_length)
  local status = res.status or 200
  local lines = {
    string.format("HTTP/1.1 %d %s", status, res.reason or M.REASONS[status] or "Unknown"),
  }
  local has = {}
  for _, h in ipairs(res.headers or {}) do
    lines[#lines + 1] = h[1] .. ": " .. h[2]
    has[h[1]:lower()] = true
  end
  if not has["content-length"] then
    lines[#lines + 1] = "Content-Length: " .. (declared_length or #(res.body or ""))
  end
  if not has["date"] then
    lines[#lines + 1] = "Date: " .. os.date("!%a, %d %b %Y %H:%M:%S GMT")
  end
  lines[#lines + 1] = "Connection: " .. (keep_alive and "keep-alive" or "close")
  return table.concat(lines, "\r\n") .. "\r\n\r\n"
end

--- The simulator's own JSON error answer (malformed requests, handler errors).
function M.error(status, message)
  local body = '{"errorCode":"' .. status .. '.000.00","errorMessage":"' .. message .. '"}'
  return { status = status, headers = { { "Content-Type", "application/json" } }, body = body }
end

--- Answer a request that could not be read, then the connection closes.
function M.refuse(conn, reply)
  conn:send(M.head(reply, false) .. reply.body, socket.gettime() + 5)
end

--- Send res as the answer to req. A handler's response may add `drop = true`
-- (close without answering), `truncate = true` (announce the full length,
-- send half the body, close) or `trickle = S` (one byte every S seconds,
-- then close). Returns true when the connection stays open for another
-- request.
function M.write(conn, req, res)
  if res.drop then
    return false
  end
  local body = res.body or ""
  local keep = req.keep_alive and not res.close and not res.truncate
  local deadline = socket.gettime() + 30
  if res.truncate then
    local part = body:sub(1, #body // 2)
    conn:send(M.head(res, false, #body) .. part, deadline)
    return false
  end
  if res.trickle then -- one byte every res.trickle seconds, until done or closed
    local text = M.head(res, false) .. body
    for i = 1, #text do
      if not conn:send(text:sub(i, i), socket.gettime() + 5) then break end
      conn.loop:sleep(res.trickle)
    end
    return false
  end
  local sent = conn:send(M.head(res, keep) .. (req.method == "HEAD" and "" or body), deadline)
  return sent and keep or false
end

return M
