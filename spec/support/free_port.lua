-- A loopback TCP port nothing listens on now (the kernel's pick, released
-- again): for a server a spec is about to start, or a refused connection.
--   local port = require("support.free_port")()
local socket = require("socket")

return function()
  local probe = assert(socket.bind("127.0.0.1", 0))
  local _, port = probe:getsockname()
  probe:close()
  return tonumber(port)
end
