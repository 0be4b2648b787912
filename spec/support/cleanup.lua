-- busted keeps only the last function a test gives finally(). A test that
-- has several things to undo registers them here instead; they all run
-- when the test ends, the newest first, each even if another one fails.
--   local later = require("support.cleanup")(finally)
--   later(function() s:stop() end)
return function(finally)
  local list = {}
  finally(function()
    local first
    for i = #list, 1, -1 do
      local ok, err = pcall(list[i])
      if not ok then first = first or err end
    end
    if first then error(first, 0) end
  end)
  return function(fn) list[#list + 1] = fn end
end
