-- String building in traced loops: concatenation through tables, string.format, string.byte/char, gsub and find.
local jutil = require("jit.util")

local function check(name, got, want)
  print(string.format("%s = %s", name, tostring(got)))
  assert(got == want, name .. ": expected " .. tostring(want))
end

local parts = {}
for i = 1, 10000 do parts[#parts + 1] = string.format("%d", i) end
local digits = table.concat(parts)
check("digits of 1..10000", #digits, 38894)

local buf = {}
for i = 1, 10000 do buf[i] = "abc" end
local s = table.concat(buf)
check("length of abc x 10000", #s, 30000)
local _, nb = s:gsub("b", "B")
check("b's replaced", nb, 10000)

local sum = 0
for i = 1, #digits do sum = sum + digits:byte(i) - 48 end
check("digit sum of 1..10000", sum, 180001)

local function caesar(text, k)
  local out = {}
  for i = 1, #text do
    local c = text:byte(i)
    if c >= 97 and c <= 122 then c = (c - 97 + k) % 26 + 97 end
    out[i] = string.char(c)
  end
  return table.concat(out)
end
local text = string.rep("the quick brown fox jumps over the lazy dog ", 500)
local enc = caesar(text, 13)
check("rot13 twice is the identity", caesar(enc, 13) == text, true)
check("rot13 sample", enc:sub(1, 19), "gur dhvpx oebja sbk")

local words, count = {}, 0
for w in text:gmatch("%a+") do words[w] = (words[w] or 0) + 1 count = count + 1 end
check("words", count, 4500)
check("'the' count", words.the, 1000)

local acc = ""
for i = 1, 2000 do acc = acc .. (i % 10) end
check("string grown by .. 2000 times", #acc, 2000)
check("its head", acc:sub(1, 12), "123456789012")

assert(jit.status(), "the JIT is off")
assert(jutil.traceinfo(1), "no trace was compiled")
print("jit on, traces compiled: yes")
print("ok")
