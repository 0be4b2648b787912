-- Every relative link in README.md and docs/*.md leads somewhere: the file
-- exists, and an #anchor names a heading of the page it points to.
local docs = require("support.docs")

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function directory_of(page)
  return page:match("^(.*)/[^/]*$") or "."
end

-- a/b/../c -> a/c, ./x -> x
local function normal(path)
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." and #parts > 0 and parts[#parts] ~= ".." then
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return table.concat(parts, "/")
end

describe("the documentation's links", function()
  for _, page in ipairs(docs.pages()) do
    it(page .. ": every relative link and anchor resolves", function()
      local broken = {}
      for _, link in ipairs(docs.links(page)) do
        local path, anchor = link.target:match("^([^#]*)#?(.*)$")
        local target = path == "" and page or normal(directory_of(page) .. "/" .. path)
        if not exists(target) then
          broken[#broken + 1] = page .. ":" .. link.line .. ": " .. link.target .. " (no file " .. target .. ")"
        elseif anchor ~= "" and (not target:match("%.md$") or not docs.anchors(target)[anchor]) then
          broken[#broken + 1] = page .. ":" .. link.line .. ": " .. link.target .. " (no heading #" .. anchor .. ")"
        end
      end
      assert.are.same({}, broken)
    end)
  end

  it("the anchors are GitHub's", function()
    local a = docs.anchors("docs/openresty.md")
    assert.is_true(a["b2cngxhandle_result"])
    assert.is_true(docs.anchors("docs/api.md")["what-the-sdk-retries-and-what-it-never-does"])
  end)
end)
