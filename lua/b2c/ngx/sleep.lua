-- b2c.ngx.sleep, a function sleep(seconds) for the token store: ngx.sleep
-- where it exists (request handlers, timers), a plain blocking poll(2)
-- through LuaJIT's FFI on a pool thread, where ngx.sleep does not exist and
-- blocking only holds that one thread.
--
-- luacheck: globals ngx
local poll
local function blocking_sleep(seconds)
  if not poll then
    local ffi = require("ffi")
    -- lua-resty-core may have declared poll already; either declaration works.
    pcall(ffi.cdef, "int poll(void *fds, unsigned long nfds, int timeout);")
    poll = ffi.C.poll
  end
  poll(nil, 0, math.floor(seconds * 1000 + 0.5))
end

local function sleep(seconds)
  if type(ngx.sleep) == "function" and pcall(ngx.sleep, seconds) then return end
  blocking_sleep(seconds)
end

return sleep
