-- The documentation (README.md, docs/*.md) as the specs read it: code blocks
-- by page and heading, the marker that says which spec runs a block, the
-- headings' anchors and the relative links.
--   docs.pages() -> { "README.md", "docs/api.md", ... }
--   docs.blocks(page, heading, lang?) -> the code of the `lang` blocks ("lua"
--     by default) in the section under `heading` (its subsections included)
--   docs.fences(page) -> every code block: { lang, code, heading, line, marker }
--   docs.run(code, names, extra?) -> runs code with globals from `names`
--     (falling back to the real ones unless `names` has a metatable of its
--     own); `extra` is appended to the code
--   docs.anchors(page) -> set of the anchors GitHub gives its headings
--   docs.links(page) -> every relative link: { target, line }
local files = require("support.files")

local docs = {}

-- Lua 5.1 and LuaJIT give a chunk its globals with setfenv; later Luas with load.
local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")

function docs.pages()
  local list = { "README.md" }
  local p = assert(io.popen("ls docs/*.md"))
  for name in p:lines() do list[#list + 1] = name end
  p:close()
  return list
end

local function lines_of(page)
  local text = files.must(page)
  local lines = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  return lines
end

-- Walks a page: headings (outside code blocks) and code blocks, in order.
local function walk(page)
  local items, fence, lang, start, body = {}, false, nil, nil, nil
  local lines = lines_of(page)
  for i, line in ipairs(lines) do
    if fence then
      if line:match("^```%s*$") then
        items[#items + 1] = { fence = true, lang = lang, line = start, code = table.concat(body, "\n") .. "\n",
          marker = (lines[start - 1] or ""):match("^<!%-%- doc%-snippet: (.-) %-%->$") }
        fence = false
      else
        body[#body + 1] = line
      end
    elseif line:match("^```") then
      fence, lang, start, body = true, line:match("^```(%S*)"), i, {}
    else
      local hashes, title = line:match("^(#+) (.+)$")
      if hashes then items[#items + 1] = { level = #hashes, title = title, line = i } end
    end
  end
  return items
end

function docs.blocks(page, heading, lang)
  lang = lang or "lua"
  local found, level, blocks = false, nil, {}
  for _, item in ipairs(walk(page)) do
    if item.title then
      if found and item.level <= level then break end
      if not found and item.title == heading then found, level = true, item.level end
    elseif found and item.lang == lang then
      blocks[#blocks + 1] = item.code
    end
  end
  assert(found, page .. " has no heading " .. heading)
  return blocks
end

function docs.fences(page)
  local heading, out = nil, {}
  for _, item in ipairs(walk(page)) do
    if item.title then
      heading = item.title
    else
      item.heading = heading
      out[#out + 1] = item
    end
  end
  return out
end

function docs.run(code, names, extra)
  local env = getmetatable(names) and names or setmetatable(names, { __index = _G })
  local chunk
  if setfenv then
    chunk = assert(loadstring(code .. (extra or ""), "=docs"))
    setfenv(chunk, env)
  else
    chunk = assert(load(code .. (extra or ""), "=docs", "t", env))
  end
  return chunk()
end

-- GitHub's anchor for a heading: lower case, punctuation but - and _ dropped,
-- spaces made dashes; a repeated one gets -1, -2, ...
function docs.anchors(page)
  local set, seen = {}, {}
  for _, item in ipairs(walk(page)) do
    if item.title then
      local slug = item.title:lower():gsub("[^%w%s_%-\128-\255]", ""):gsub(" ", "-")
      local n = seen[slug]
      seen[slug] = (n or 0) + 1
      set[n and (slug .. "-" .. n) or slug] = true
    end
  end
  return set
end

function docs.links(page)
  local out, fence = {}, false
  for i, line in ipairs(lines_of(page)) do
    if line:match("^```") then
      fence = not fence
    elseif not fence then
      local text = line:gsub("`[^`]*`", "")
      for target in text:gmatch("%]%(([^)%s]+)%)") do
        if not target:match("^%a[%w+.-]*:") then out[#out + 1] = { target = target, line = i } end
      end
    end
  end
  return out
end

return docs
