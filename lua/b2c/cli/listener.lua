-- --listen [HOST:]PORT of status and balance: a one-shot receiver for the
-- answer to one query, a plain HTTP listener (LuaSocket) for the
-- operator's terminal. Without --result-url it is also the URL Daraja
-- posts to, with an unguessable token in its path; with one (a public
-- https URL forwarding to it), any path is taken. Every well-formed
-- callback is answered 200, so Daraja does not retry one that belongs to
-- another query.
local b2c = require("b2c")
local explain = require("b2c.cli.explain")
local output = require("b2c.cli.output")

local listener = {}

-- A larger body is refused (413): no callback comes near it.
local MAX_CALLBACK = 64 * 1024

-- Listens on spec ([HOST:]PORT): { socket, server, token, where, url }, or
-- nil, err.
function listener.open(spec)
  local host, port = spec:match("^%[?([^%]]*)%]?:(%d+)$")
  if not host then host, port = "127.0.0.1", spec:match("^(%d+)$") end
  port = tonumber(port)
  if not port or port > 65535 or host == "" then
    return nil, { kind = "usage", field = "--listen", message = "--listen takes [HOST:]PORT" }
  end
  local ok, socket = pcall(require, "socket")
  if not ok then
    return nil, { kind = "config", field = "--listen", message = "--listen needs LuaSocket (lua-socket)" }
  end
  local server, err = socket.bind(host, port)
  if not server then
    return nil, { kind = "network", field = "--listen", message = "cannot listen on " .. spec .. ": " .. tostring(err) }
  end
  server:settimeout(0.2)
  local ip, bound = server:getsockname()
  local token = b2c.callbackToken()
  local where = (ip:find(":", 1, true) and "[" .. ip .. "]" or ip) .. ":" .. bound
  return { socket = socket, server = server, token = token, where = where,
    url = "http://" .. where .. "/b2c/" .. token }
end

local function answer(client, status, text)
  local body = string.format('{"ResultCode":%d,"ResultDesc":"%s"}', status == 200 and 0 or 1, text)
  client:send(string.format("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
    .. "Connection: close\r\n\r\n%s", status, text, #body, body))
end

-- One request: method, path, body; or nil, status, reason.
local function read_request(client)
  client:settimeout(5)
  local line = client:receive("*l")
  local method, path = (line or ""):match("^(%u+) (%S+) HTTP/1%.[01]\r?$")
  if not method then return nil, 400, "Bad Request" end
  local length, size = 0, 0
  while true do
    local header = client:receive("*l")
    if header == nil then return nil, 400, "Bad Request" end
    size = size + #header
    if size > 16384 then return nil, 431, "Request Header Fields Too Large" end
    if header == "" or header == "\r" then break end
    local n = header:lower():match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
  end
  if length > MAX_CALLBACK then return nil, 413, "Payload Too Large" end
  local body = length > 0 and client:receive(length) or ""
  if not body then return nil, 400, "Bad Request" end
  return method, path, body
end

-- Waits up to `seconds` for the callback `mine(info)` accepts; returns
-- info, peer address; or nil when the time ran out.
function listener.wait_for(l, seconds, own_path, mine, sys, command)
  local deadline = l.socket.gettime() + seconds
  while l.socket.gettime() < deadline do
    local client = l.server:accept()
    if client then
      local peer = client:getpeername()
      local method, path, body = read_request(client)
      local info
      if not method then
        answer(client, path, body)
      elseif method ~= "POST" then
        answer(client, 405, "Method Not Allowed")
      elseif own_path and path ~= "/b2c/" .. l.token then
        answer(client, 404, "Not Found")
      else
        info = explain.body(body, command)
        if info and (info.form == "result" or info.form == "queueTimeout") then
          answer(client, 200, "Accepted")
        else
          answer(client, 400, "Bad Request")
          info = nil
        end
      end
      client:close()
      if info and mine(info) then return info, peer end
      if info and not sys.json then
        sys.stderr:write("b2c " .. command .. ": a callback for another request came from "
          .. output.clean(peer) .. "; still waiting\n")
      end
    end
  end
end

return listener
