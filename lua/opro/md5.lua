--- opro.md5: MD5 of a byte string as 32 lower-case hex digits (RFC 1321).
-- Used for the reference's instruction file names; not for security.
local K, S = {}, {
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
}
for i = 0, 63 do K[i + 1] = math.floor(math.abs(math.sin(i + 1)) * 2 ^ 32) & 0xFFFFFFFF end

local function rotl(x, c)
  return ((x << c) | (x >> (32 - c))) & 0xFFFFFFFF
end

return function(msg)
  local len = #msg
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack("<I8", (len * 8) & 0xFFFFFFFFFFFFFFFF)
  local a0, b0, c0, d0 = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
  local M = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do M[i] = string.unpack("<I4", msg, chunk + 4 * i) end
    local A, B, C, D = a0, b0, c0, d0
    for i = 0, 63 do
      local F, g
      if i < 16 then
        F, g = (B & C) | (~B & D), i
      elseif i < 32 then
        F, g = (D & B) | (~D & C), (5 * i + 1) % 16
      elseif i < 48 then
        F, g = B ~ C ~ D, (3 * i + 5) % 16
      else
        F, g = C ~ (B | ~D), (7 * i) % 16
      end
      F = (F + A + K[i + 1] + M[g]) & 0xFFFFFFFF
      A, D, C = D, C, B
      B = (B + rotl(F, S[i + 1])) & 0xFFFFFFFF
    end
    a0, b0 = (a0 + A) & 0xFFFFFFFF, (b0 + B) & 0xFFFFFFFF
    c0, d0 = (c0 + C) & 0xFFFFFFFF, (d0 + D) & 0xFFFFFFFF
  end
  local out = string.pack("<I4I4I4I4", a0, b0, c0, d0)
  return (out:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
