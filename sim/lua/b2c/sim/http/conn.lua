-- A buffered connection on the event loop (plain and LuaSec sockets): reads
-- lines, exact byte counts or everything until close, and sends, waiting
-- inside the calling task instead of blocking.
local M = {}

local Conn = {}
Conn.__index = Conn

-- `slot`: the connection holds one of the loop's socket slots, given back
-- on close.
function M.new(loop, sock, slot)
  sock:settimeout(0)
  return setmetatable({ loop = loop, sock = sock, buf = "", slot = slot }, Conn)
end

-- Read more bytes into the buffer. Returns true, or nil and "closed",
-- "timeout" or a socket error.
function Conn:fill(deadline)
  while true do
    local data, err, partial = self.sock:receive(16384)
    local chunk = data or partial
    if chunk and #chunk > 0 then
      self.buf = self.buf .. chunk
      return true
    end
    if err == "closed" then
      return nil, "closed"
    end
    if err ~= "timeout" and err ~= "wantread" and err ~= "wantwrite" then
      return nil, err
    end
    local mode = err == "wantwrite" and "w" or "r"
    if not self.loop:wait_io(self.sock, mode, deadline) then
      return nil, "timeout"
    end
  end
end

-- One line without its end of line; nil, err on failure; nil, "too long".
function Conn:line(deadline, limit)
  while true do
    local i = self.buf:find("\n", 1, true)
    if i then
      local line = self.buf:sub(1, i - 1):gsub("\r$", "")
      self.buf = self.buf:sub(i + 1)
      return line
    end
    if #self.buf > limit then
      return nil, "too long"
    end
    local ok, err = self:fill(deadline)
    if not ok then
      return nil, err
    end
  end
end

-- Exactly n bytes.
function Conn:bytes(n, deadline)
  while #self.buf < n do
    local ok, err = self:fill(deadline)
    if not ok then
      return nil, err
    end
  end
  local data = self.buf:sub(1, n)
  self.buf = self.buf:sub(n + 1)
  return data
end

-- Everything until the peer closes (at most limit bytes).
function Conn:rest(deadline, limit)
  while #self.buf <= limit do
    local ok, err = self:fill(deadline)
    if not ok then
      if err == "closed" then
        break
      end
      return nil, err
    end
  end
  local data = self.buf
  self.buf = ""
  return data
end

function Conn:send(data, deadline)
  local i = 1
  local sock = self.sock
  while i <= #data do
    local last, err, partial = sock:send(data, i)
    if last then
      i = last + 1
    else
      if err ~= "timeout" and err ~= "wantwrite" and err ~= "wantread" then
        return nil, err
      end
      if partial and partial >= i then
        i = partial + 1
      end
      if i <= #data then
        local mode = err == "wantread" and "r" or "w"
        if not self.loop:wait_io(sock, mode, deadline) then
          return nil, "timeout"
        end
      end
    end
  end
  return true
end

function Conn:close()
  if not self.closed then
    self.closed = true
    self.sock:close()
    if self.slot then
      self.loop:release()
    end
  end
end

return M
