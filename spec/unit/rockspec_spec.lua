-- The SDK rock installs every module under lua/b2c, each by its name, so
-- that a new operation (one file under lua/b2c/operations) is never left out.
-- The module lines of the rockspec: ["name"] = "lua/....lua".
local function modules()
  local f = assert(io.open("rockspec/b2c-scm-1.rockspec"))
  local text = f:read("*a")
  f:close()
  local list = {}
  for module, file in text:gmatch('%["([%w%._]+)"%] = "(lua/[^"]+)"') do list[module] = file end
  return list
end

describe("rockspec/b2c-scm-1.rockspec", function()
  it("lists every file under lua/b2c as its module, and nothing else", function()
    local listed = {}
    for module, file in pairs(modules()) do
      local expected = file:match("^lua/(.*)%.lua$"):gsub("/init$", ""):gsub("/", ".")
      assert.are.equal(expected, module)
      listed[#listed + 1] = file
    end
    table.sort(listed)
    local found = {}
    local p = assert(io.popen("find lua/b2c -name '*.lua' | sort"))
    for line in p:lines() do found[#found + 1] = line end
    p:close()
    table.sort(found)
    assert.are.same(found, listed)
  end)
end)
