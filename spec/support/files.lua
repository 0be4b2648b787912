-- Files in the specs and the bench.
--   files.read(path) -> text, or nil when the file cannot be opened
--   files.must(path) -> text; raises, naming the file, when it cannot be read
--   files.tempdir() -> the path of a new temporary directory (mktemp -d)
--   files.wait_for(path, text, seconds) -> true once the file holds `text`,
--     false when `seconds` passed first (for a child process's output)
local M = {}

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

function M.must(path)
  return (assert(M.read(path), "cannot read " .. tostring(path)))
end

function M.tempdir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("*l")
  p:close()
  return (assert(dir, "mktemp -d failed"))
end

function M.wait_for(path, text, seconds)
  local socket = require("socket")
  local deadline = socket.gettime() + seconds
  while not (M.read(path) or ""):find(text, 1, true) do
    if socket.gettime() > deadline then return false end
    socket.sleep(0.005)
  end
  return true
end

return M
