-- Table operations in traced loops: arrays, hash parts, insert/remove, sort with a comparator, objects with
-- metatables and closures. Closed forms where they exist, else the interpreter's answer (jit.off) for the same code.
local jutil = require("jit.util")

local function check(name, got, want)
  print(string.format("%s = %s", name, tostring(got)))
  assert(got == want, name .. ": expected " .. tostring(want))
end

local n = 1000000
local t = {}
for i = 1, n do t[i] = i * 2 end
local sum = 0
for i = 1, #t do sum = sum + t[i] end
check("sum of 2i, 1..1e6", sum, n * (n + 1))

local h = {}
for i = 1, 100000 do local k = "k" .. (i % 1000) h[k] = (h[k] or 0) + 1 end
local keys, all100 = 0, true
for _, v in pairs(h) do keys = keys + 1 if v ~= 100 then all100 = false end end
check("hash keys", keys, 1000)
check("each counted 100 times", all100, true)

local seed = 12345
local function rand() seed = (seed * 1103515245 + 12345) % 2147483648 return seed end
local a = {}
for i = 1, 20000 do a[i] = rand() % 100000 end
local checksum = 0
for i = 1, #a do checksum = (checksum + a[i] * i) % 1000000007 end
table.sort(a, function(x, y) return x > y end)
local sorted = true
for i = 2, #a do if a[i - 1] < a[i] then sorted = false end end
check("sorted descending", sorted, true)

local q = {}
for i = 1, 50000 do table.insert(q, i) end
local popped = 0
while #q > 25000 do popped = popped + table.remove(q) end
check("popped sum", popped, (25001 + 50000) * 25000 / 2)

local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:add(o) return Point.new(self.x + o.x, self.y + o.y) end
function Point.__eq(p, o) return p.x == o.x and p.y == o.y end
local function walk(steps)
  local p = Point.new(0, 0)
  for i = 1, steps do p = p:add(Point.new(i % 3 - 1, i % 5 - 2)) end
  return p
end
local p = walk(300000)
jit.off(walk)
local p2 = walk(300000)
check("point walk", p.x .. "," .. p.y, p2.x .. "," .. p2.y)

local function counter() local c = 0 return function() c = c + 1 return c end end
local total = 0
for i = 1, 1000 do local f = counter() for _ = 1, 100 do total = total + f() end end
check("closure counters", total, 1000 * 5050)

assert(jit.status(), "the JIT is off")
assert(jutil.traceinfo(1), "no trace was compiled")
print("jit on, traces compiled: yes")
print("ok")
