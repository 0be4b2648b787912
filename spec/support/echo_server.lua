-- A hostile gateway for the redaction specs: it echoes what clients send.
-- Run as a program (lua5.4 spec/support/echo_server.lua WATCH_PID); prints
-- "echo listening on PORT", serves one connection at a time (Connection:
-- close) and exits when WATCH_PID is gone.
--
-- The consumer key names the fault (the token it hands out carries it on):
--   basic      the OAuth answer is a 400 echoing the Authorization header
--   pair       the OAuth answer is a 400 echoing key:secret, decoded
--   body500    a payout gets a 500 whose text is the request body as sent
--   cut500     the same, cut by the server at 100 bytes (ends inside the
--              SecurityCredential)
--   escaped    a 400 JSON error echoing the Bearer token JSON-escaped (\/)
--   urlencoded a 400 JSON error echoing the Bearer token URL-encoded
--   unicode    a 400 JSON error echoing the credential as \u00XX escapes
--   html       a 502 HTML page echoing the request body HTML-escaped
local socket = require("socket")

-- Every token has a "/": JSON encoders may write it "\/".
local TOKENS = {
  basic = "Tk/basic+0aZ9bX8cY7dW6eV5", body500 = "Tk/body500+1aZ9bX8cY7dW6eV",
  cut500 = "Tk/cut500+2aZ9bX8cY7dW6eV", escaped = "Tk/escaped+3aZ9bX8cY7dW6e",
  urlencoded = "Tk/urlenc+4aZ9bX8cY7dW6eV", unicode = "Tk/unicode+5aZ9bX8cY7dW6e",
  html = "Tk/html+6aZ9bX8cY7dW6eV5uT",
}
local MODES = {}
for mode, token in pairs(TOKENS) do MODES[token] = mode end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function unbase64(s)
  local bits, out = 0, {}
  local n = 0
  for ch in s:gsub("=", ""):gmatch(".") do
    local v = B64:find(ch, 1, true)
    if not v then return "" end
    bits, n = bits * 64 + v - 1, n + 6
    if n >= 8 then
      n = n - 8
      local byte = math.floor(bits / 2 ^ n)
      out[#out + 1] = string.char(byte)
      bits = bits - byte * 2 ^ n
    end
  end
  return table.concat(out)
end

-- A JSON string; with every_char, each character as a \u00XX escape.
local function json_string(s, every_char)
  if every_char then
    return '"' .. s:gsub(".", function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

local function answer(conn, status, body, ctype)
  conn:send(string.format("HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
    .. "Connection: close\r\n\r\n%s", status, ctype or "application/json", #body, body))
end

local function api_error(text)
  return '{"requestId":"echo-1","errorCode":"400.002.02","errorMessage":' .. text .. '}'
end

local function serve(conn)
  conn:settimeout(5)
  local request = conn:receive("*l")
  if not request then return end
  local headers = {}
  while true do
    local line = conn:receive("*l")
    if not line or line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k:lower()] = v end
  end
  local body = ""
  local length = tonumber(headers["content-length"] or 0)
  if length > 0 then body = conn:receive(length) or "" end
  local auth = headers.authorization or ""
  if request:find("/oauth/", 1, true) then
    local pair = unbase64(auth:match("^Basic (%S+)") or "")
    local mode = pair:match("^([^:]*)")
    if mode == "pair" then
      return answer(conn, 400, api_error(json_string("Invalid credentials " .. pair)))
    end
    if mode == "basic" or not TOKENS[mode] then
      return answer(conn, 400, api_error(json_string("Invalid Authentication passed: " .. auth)))
    end
    return answer(conn, 200, '{"access_token":"' .. TOKENS[mode] .. '","expires_in":"3599"}')
  end
  local token = auth:match("^Bearer (%S+)") or ""
  local mode = MODES[token]
  if mode == "body500" then return answer(conn, 500, body, "text/plain") end
  if mode == "cut500" then return answer(conn, 500, body:sub(1, 100), "text/plain") end
  if mode == "escaped" then
    return answer(conn, 400, api_error(json_string("Bad header " .. auth):gsub("/", "\\/")))
  end
  if mode == "urlencoded" then
    local encoded = auth:gsub("[^%w ]", function(c) return string.format("%%%02X", c:byte()) end)
    return answer(conn, 400, api_error(json_string("Bad header " .. encoded)))
  end
  if mode == "unicode" then
    local credential = body:match('"SecurityCredential":"([^"]*)"') or ""
    return answer(conn, 400, api_error('"Bad credential ' .. json_string(credential, true):sub(2)))
  end
  if mode == "html" then
    local escaped = body:gsub('[&<>"/+]', function(c) return string.format("&#x%X;", c:byte()) end)
    return answer(conn, 502, "<html><body><h1>502 Bad Gateway</h1><pre>" .. escaped
      .. "</pre></body></html>", "text/html")
  end
  answer(conn, 401, api_error('"unknown token"'))
end

local watch = tonumber(arg[1])
local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0.5)
local _, port = server:getsockname()
io.stdout:write("echo listening on ", port, "\n")
io.stdout:flush()
local function watched_alive()
  local f = watch and io.open("/proc/" .. watch .. "/stat")
  if f then f:close() end
  return f ~= nil or not watch
end

while watched_alive() do
  local conn = server:accept()
  if conn then
    serve(conn)
    conn:close()
  end
end
