-- The outgoing side, for result callbacks: URL parsing, connect (and TLS
-- through LuaSec when it is installed), one POST and its answer.
local socket = require("socket")
local connection = require("b2c.sim.http.conn")
local message = require("b2c.sim.http.message")

local M = {}

--- Split an http(s) URL. Returns {scheme, host, port, path} or nil, err.
function M.parse_url(url)
  if type(url) ~= "string" then
    return nil, "not a string"
  end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    return nil, "not an absolute URL"
  end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "scheme " .. scheme .. " is not http or https"
  end
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  path = path:gsub("#.*$", "")
  if path == "" then
    path = "/"
  elseif path:sub(1, 1) == "?" then
    path = "/" .. path
  end
  authority = authority:gsub("^.*@", "")
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
  else
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  if not host or host == "" then
    return nil, "no host"
  end
  if path:find("[%s%c]") then
    return nil, "bad path"
  end
  port = tonumber(port ~= "" and port or nil) or (scheme == "https" and 443 or 80)
  if port < 1 or port > 65535 then
    return nil, "bad port"
  end
  return { scheme = scheme, host = host, port = port, path = path }
end

local function connect(loop, u, deadline)
  local tcp
  if u.host:find(":", 1, true) then
    tcp = socket.tcp6()
  else
    tcp = socket.tcp()
  end
  if not tcp then
    return nil, "cannot create socket"
  end
  tcp:settimeout(0)
  local host = u.host == "localhost" and "127.0.0.1" or u.host
  local ok, err = tcp:connect(host, u.port)
  if not ok then
    if err ~= "timeout" then
      tcp:close()
      return nil, err
    end
    if not loop:wait_io(tcp, "w", deadline) then
      tcp:close()
      return nil, "connect timeout"
    end
    ok, err = tcp:connect(host, u.port)
    if not ok and err ~= "already connected" then
      tcp:close()
      return nil, err
    end
  end
  if u.scheme ~= "https" then
    return tcp
  end
  local has_ssl, ssl = pcall(require, "ssl")
  if not has_ssl then
    tcp:close()
    return nil, "https needs LuaSec"
  end
  local wrapped, werr = ssl.wrap(tcp, {
    mode = "client", protocol = "any", verify = "none", options = { "all" },
  })
  if not wrapped then
    tcp:close()
    return nil, werr
  end
  wrapped:settimeout(0)
  if wrapped.sni then
    wrapped:sni(u.host)
  end
  while true do
    local done, herr = wrapped:dohandshake()
    if done then
      return wrapped
    end
    local mode = (herr == "wantwrite") and "w" or ((herr == "wantread" or herr == "timeout") and "r")
    if not mode then
      wrapped:close()
      return nil, "TLS handshake failed: " .. tostring(herr)
    end
    if not loop:wait_io(wrapped, mode, deadline) then
      wrapped:close()
      return nil, "TLS handshake timeout"
    end
  end
end

-- Send one POST on conn and read the answer: status, body or nil, error.
local function exchange(conn, u, body, opts, deadline)
  local default_port = (u.scheme == "https" and 443 or 80)
  local host = u.host:find(":", 1, true) and ("[" .. u.host .. "]") or u.host
  if u.port ~= default_port then
    host = host .. ":" .. u.port
  end
  local head = {
    "POST " .. u.path .. " HTTP/1.1",
    "Host: " .. host,
    "User-Agent: " .. (opts.user_agent or "b2c-sim"),
    "Content-Type: application/json",
    "Accept: */*",
    "Content-Length: " .. #body,
    "Connection: close",
  }
  local ok, serr = conn:send(table.concat(head, "\r\n") .. "\r\n\r\n" .. body, deadline)
  if not ok then
    return nil, "send failed: " .. tostring(serr)
  end
  local status_line, lerr = conn:line(deadline, message.MAX_HEADER_BYTES)
  if not status_line then
    return nil, "no response: " .. tostring(lerr)
  end
  local status = tonumber(status_line:match("^HTTP/%d%.%d (%d%d%d)"))
  if not status then
    return nil, "bad status line"
  end
  local headers = message.read_headers(conn, deadline)
  local rbody = ""
  if headers then
    rbody = message.read_body(conn, headers, 64 * 1024, deadline, true) or ""
  end
  return status, rbody
end

--- POST `body` to `url` from inside a task. Returns status, response body,
-- or nil and an error message. opts: timeout (seconds, from the moment a
-- socket is free), user_agent, cancelled() (true: give up before sending).
function M.post(loop, url, body, opts)
  opts = opts or {}
  local u, err = M.parse_url(url)
  if not u then
    return nil, "refused URL: " .. err
  end
  -- queued while the loop holds all the sockets it may; the attempt's time
  -- starts once it has a socket
  loop:acquire_outgoing()
  if opts.cancelled and opts.cancelled() then
    loop:release()
    return nil, "cancelled"
  end
  local deadline = socket.gettime() + (opts.timeout or 5)
  local ok_connect, sock, cerr = pcall(connect, loop, u, deadline)
  if not ok_connect or not sock then
    loop:release()
    return nil, ok_connect and cerr or ("connect failed: " .. tostring(sock))
  end
  local conn = connection.new(loop, sock, true)
  local ok, status, rbody = pcall(exchange, conn, u, body, opts, deadline)
  conn:close()
  if not ok then
    return nil, "callback failed: " .. tostring(status)
  end
  return status, rbody
end

return M
