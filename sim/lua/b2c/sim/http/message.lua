-- HTTP/1.1 message framing shared by the server and the callback client:
-- header block and body (Content-Length, chunked, or until close), with
-- the size limits.
local M = {}

M.MAX_HEADER_BYTES = 16 * 1024
M.MAX_HEADERS = 100

-- Read header lines into {lowercase name -> value} plus the ordered list.
function M.read_headers(conn, deadline)
  local headers, list, total = {}, {}, 0
  while true do
    local line, err = conn:line(deadline, M.MAX_HEADER_BYTES)
    if not line then
      return nil, err
    end
    total = total + #line
    if total > M.MAX_HEADER_BYTES or #list >= M.MAX_HEADERS then
      return nil, "too long"
    end
    if line == "" then
      return headers, list
    end
    local name, value = line:match("^([^:%s]+):%s*(.-)%s*$")
    if not name then
      return nil, "bad header"
    end
    list[#list + 1] = { name, value }
    local lname = name:lower()
    if headers[lname] then
      headers[lname] = headers[lname] .. ", " .. value
    else
      headers[lname] = value
    end
  end
end

-- Read a body described by the headers. Returns body, or nil, err where err
-- is "too large", "bad length", "closed", "timeout"...
function M.read_body(conn, headers, limit, deadline, until_close)
  local te = headers["transfer-encoding"]
  if te and te:lower():find("chunked", 1, true) then
    local parts, size = {}, 0
    while true do
      local line, err = conn:line(deadline, 1024)
      if not line then
        return nil, err
      end
      local n = tonumber(line:match("^%s*(%x+)"), 16)
      if not n then
        return nil, "bad chunk"
      end
      if n == 0 then
        -- trailers
        while true do
          local l, e = conn:line(deadline, M.MAX_HEADER_BYTES)
          if not l then
            return nil, e
          end
          if l == "" then
            break
          end
        end
        return table.concat(parts)
      end
      size = size + n
      if size > limit then
        return nil, "too large"
      end
      local data, e = conn:bytes(n, deadline)
      if not data then
        return nil, e
      end
      parts[#parts + 1] = data
      local _, e2 = conn:line(deadline, 16)
      if e2 then
        return nil, e2
      end
    end
  end
  local cl = headers["content-length"]
  if cl then
    local n = tonumber(cl:match("^%s*(%d+)%s*$"))
    if not n then
      return nil, "bad length"
    end
    if n > limit then
      return nil, "too large"
    end
    return conn:bytes(n, deadline)
  end
  if until_close then
    return conn:rest(deadline, limit)
  end
  return ""
end

return M
