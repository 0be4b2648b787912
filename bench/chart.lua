-- The benchmark's side-by-side comparison as an SVG chart, drawn from its
-- text table (bench/run.lua writes build/bench/results.txt):
--   lua5.4 bench/chart.lua [results.txt [results.svg]]
-- One panel per section and unit (sends/s, CPU us/send, per second...):
-- a bar per row at its median, a line from its min to its max. Ratio rows
-- and units with one row only stay in the text table.
local IN = arg[1] or "build/bench/results.txt"
local OUT = arg[2] or IN:gsub("%.txt$", "") .. ".svg"

local WIDTH, LABEL_W, ROW_H, TITLE_H, GAP = 860, 380, 20, 24, 14
local COLORS = { "#1a4f8b", "#2e8b57", "#c0392b", "#d68910", "#7d3c98", "#117a65", "#7f8c8d" }

local function escape(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

-- Sections with their rows {label, unit, min, median, max, text (the three
-- as the table writes them)}, in order.
local function parse(text)
  local sections, current = {}, nil
  for line in text:gmatch("[^\n]*") do
    local title = line:match("^(%d+%. .+)$")
    if title then
      current = { title = title, rows = {} }
      sections[#sections + 1] = current
    elseif current then
      local label, min, median, max = line:match("^  (%S.-)%s+(%-?[%d.]+)%s+(%-?[%d.]+)%s+(%-?[%d.]+)$")
      if label and not label:match("^ratio") then
        local name, unit = label:match("^(.*):%s+(.-)$")
        if name then
          unit = unit == "per s" and "per second" or unit
          current.rows[#current.rows + 1] = { label = name, unit = unit, min = tonumber(min),
            median = tonumber(median), max = tonumber(max), text = { min, median, max } }
        end
      end
    end
  end
  return sections
end

-- Panels: the rows of one section sharing a unit, when there are two or more.
local function panels(sections)
  local out = {}
  for _, s in ipairs(sections) do
    local by_unit, order = {}, {}
    for _, r in ipairs(s.rows) do
      if not by_unit[r.unit] then
        by_unit[r.unit] = {}
        order[#order + 1] = r.unit
      end
      table.insert(by_unit[r.unit], r)
    end
    for _, unit in ipairs(order) do
      if #by_unit[unit] >= 2 then
        out[#out + 1] = { title = s.title:gsub("%s*%(.*%)$", "") .. " - " .. unit, rows = by_unit[unit] }
      end
    end
  end
  return out
end

local function svg(list, heading)
  local height = TITLE_H + 10
  for _, p in ipairs(list) do
    height = height + TITLE_H + #p.rows * ROW_H + GAP
  end
  local out = {
    string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
      .. 'font-family="sans-serif" font-size="12">', WIDTH, height, WIDTH, height),
    string.format('<rect width="%d" height="%d" fill="#fff"/>', WIDTH, height),
    string.format('<text x="8" y="18" font-size="14" font-weight="bold">%s</text>', escape(heading)),
  }
  local y = TITLE_H + 10
  local bar_w = WIDTH - LABEL_W - 70
  for _, p in ipairs(list) do
    out[#out + 1] = string.format('<text x="8" y="%d" font-weight="bold">%s</text>', y + 14, escape(p.title))
    y = y + TITLE_H
    local top = 0
    for _, r in ipairs(p.rows) do top = math.max(top, r.max, r.median) end
    if top <= 0 then top = 1 end
    for i, r in ipairs(p.rows) do
      local function x(v) return LABEL_W + bar_w * v / top end
      local mid = y + ROW_H / 2
      out[#out + 1] = string.format('<text x="%d" y="%.1f" text-anchor="end">%s</text>', LABEL_W - 6, mid + 4,
        escape(r.label))
      out[#out + 1] = string.format('<rect class="median" x="%d" y="%.1f" width="%.2f" height="%d" fill="%s">'
        .. '<title>%s: min %s, median %s, max %s</title></rect>', LABEL_W, y + 3, x(r.median) - LABEL_W,
        ROW_H - 6, COLORS[(i - 1) % #COLORS + 1], escape(r.label), r.text[1], r.text[2], r.text[3])
      out[#out + 1] = string.format('<line class="range" x1="%.2f" x2="%.2f" y1="%.1f" y2="%.1f" stroke="#222"/>',
        x(r.min), x(r.max), mid, mid)
      out[#out + 1] = string.format('<text x="%.1f" y="%.1f">%s</text>', x(math.max(r.max, r.median)) + 4,
        mid + 4, r.text[2])
      y = y + ROW_H
    end
    y = y + GAP
  end
  out[#out + 1] = "</svg>"
  return table.concat(out, "\n") .. "\n"
end

local f = io.open(IN, "r")
if not f then
  io.stderr:write("bench/chart.lua: cannot read ", IN, " (make bench writes it)\n")
  os.exit(1)
end
local text = f:read("a")
f:close()
local list = panels(parse(text))
if #list == 0 then
  io.stderr:write("bench/chart.lua: no min/median/max rows to chart in ", IN, "\n")
  os.exit(1)
end
local heading = (text:match("^([^\n]*)") or "b2c benchmark") .. " - bars: median, lines: min to max"
local o = assert(io.open(OUT, "w"))
o:write(svg(list, heading))
o:close()
io.write("(chart in ", OUT, ")\n")
