-- Files `b2c` reads (a certificate, a callback, a config; - for stdin),
-- each up to a limit: /dev/zero or a wrong file must not fill the memory.
local input = {}

input.LIMITS = { parse = 1024 * 1024, cert = 64 * 1024 }

local function size_text(n)
  if n % (1024 * 1024) == 0 then return string.format("%d MiB", n / (1024 * 1024)) end
  return string.format("%d KiB", n / 1024)
end

local function read_limited(f, limit)
  local parts, size = {}, 0
  while true do
    local chunk = f:read(math.min(64 * 1024, limit + 1 - size))
    if chunk == nil or chunk == "" then break end
    parts[#parts + 1] = chunk
    size = size + #chunk
    if size > limit then return nil, "larger than " .. size_text(limit) end
  end
  return table.concat(parts)
end

-- The bytes of path (stdin when nil or -), or nil, reason.
function input.read(sys, path, limit)
  if path == nil or path == "-" then return read_limited(sys.stdin, limit) end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local ok, data, rerr = pcall(read_limited, f, limit)
  f:close()
  if not ok then return nil, tostring(data) end
  return data, rerr
end

return input
