-- Runs a shell command and returns ok, output (stdout and stderr), exit code.
-- The same on every Lua: on 5.1 and LuaJIT neither os.execute nor closing an
-- io.popen handle reports the exit status the way 5.2+ does.
local M = {}

function M.run(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"b2c-exit:$?\""))
  local out = p:read("*a")
  p:close()
  local body, code = out:match("^(.*)b2c%-exit:(%d+)%s*$")
  code = tonumber(code)
  return code == 0, body or out, code
end

return M
