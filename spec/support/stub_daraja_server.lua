-- A scripted stand-in for Daraja, for answers the simulator does not make
-- (an acknowledgement naming another OCID, a 200 that is not JSON, "no
-- apiproduct match") and for the time of every request. Run by
-- support/stub_daraja.lua: lua5.4 stub_daraja_server.lua PLAN LOG READY
--   PLAN: JSON { answers = [{status, body}...], default = {status, body} }, the
--         answers used by payment requests in order, then the default; "{ocid}"
--         in a body is the request's OriginatorConversationID
--   LOG:  one line per request: <time> <method> <path> <ocid or ->
--   READY: gets the port once listening
local socket = require("socket")
local cjson = require("cjson.safe")

local plan_file, log_file, ready_file = arg[1], arg[2], arg[3]
local f = assert(io.open(plan_file, "rb"))
local plan = assert(cjson.decode(f:read("*a")))
f:close()
local ACK = '{"ConversationID":"AG_stub","OriginatorConversationID":"{ocid}",'
  .. '"ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}'
local default = plan.default or { status = 200, body = ACK }
local answers = plan.answers or {}

local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0.2)
local _, port = server:getsockname()
f = assert(io.open(ready_file, "wb"))
f:write(tostring(port))
f:close()
local log = assert(io.open(log_file, "ab"))
log:setvbuf("line")

local function read_request(c)
  local line = c:receive("*l")
  if not line then return nil end
  local method, path = line:match("^(%u+) (%S+)")
  local length = 0
  while true do
    local h = c:receive("*l")
    if not h or h == "" then break end
    local n = h:lower():match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
  end
  local body = length > 0 and c:receive(length) or ""
  return method, path, body
end

local deadline = socket.gettime() + 300 -- never outlives a forgotten spec by long
local posts = 0
while socket.gettime() < deadline do
  local c = server:accept()
  if c then
    c:settimeout(5)
    local method, path, body = read_request(c)
    if method then
      local ocid = (body or ""):match('"OriginatorConversationID"%s*:%s*"([^"]*)"')
      log:write(string.format("%.6f %s %s %s\n", socket.gettime(), method, path, ocid or "-"))
      local a
      if path:find("^/oauth/") then
        a = { status = 200, body = '{"access_token":"stub-token","expires_in":"3599"}' }
      else
        posts = posts + 1
        a = answers[posts] or default
      end
      local text = (a.body or ""):gsub("{ocid}", ocid or "")
      c:send(string.format("HTTP/1.1 %d Stub\r\nContent-Type: application/json\r\n"
        .. "Content-Length: %d\r\nConnection: close\r\n\r\n%s", a.status, #text, text))
    end
    c:close()
  end
end
