-- Reading whole files in the specs and the bench.
--   files.read(path) -> text, or nil when the file cannot be opened
--   files.must(path) -> text; raises, naming the file, when it cannot be read
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

return M
