#!/usr/bin/env python3
# Builds the WAL v2 fixtures of Tests/TSDBTests/WALFormatFixtureTests.swift from the format in
# Sources/TSDB/README.md, without Swift or libsnappy (bitwise CRC-32C, a hand-written snappy block).
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
def uvar(x):
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7f) | 0x80); x >>= 7
    out.append(x); return bytes(out)
def var(x): return uvar(((x << 1) ^ (x >> 63)) & 0xFFFFFFFFFFFFFFFF)
def s(x): b = x.encode(); return uvar(len(b)) + b
def rec(t, payload):
    return bytes([t]) + len(payload).to_bytes(4, 'big') + crc32c(bytes([t]) + payload).to_bytes(4, 'big') + payload
def body(runs, times, values, n):
    return uvar(n) + uvar(len(runs)) + uvar(len(times)) + runs + times + values
def snappy(data):
    # Greedy block compressor: literals and 2-byte-offset copies (snappy format description).
    out = bytearray(uvar(len(data)))
    i = 0; lit = 0
    def literal(a, b):
        n = b - a
        if n == 0: return
        if n <= 60: out.append((n - 1) << 2)
        else: out.append(60 << 2); out.append(n - 1)
        out.extend(data[a:b])
    while i < len(data):
        best = (0, 0)
        for j in range(max(0, i - 65535), i):
            l = 0
            while i + l < len(data) and data[j + l] == data[i + l] and l < 64: l += 1
            if l > best[0]: best = (l, i - j)
        if best[0] >= 4:
            literal(lit, i)
            l, off = best
            out.append(((l - 1) << 2) | 2); out.extend(off.to_bytes(2, 'little'))
            i += l; lit = i
        else:
            i += 1
    literal(lit, len(data))
    return bytes(out)

# 1) the same append as the v1 fixture, in today's format: both records stay uncompressed (codec 0)
series = uvar(1) + uvar(2) + s("__name__") + s("up") + s("job") + s("fixture")
samples = body(var(1) + uvar(1) + bytes([1, 0]), var(1000) + var(1000), var(15) + var(5), 1)
seg1 = rec(3, b"\x00" + series) + rec(4, b"\x00" + samples)
print("v2 plain:", seg1.hex())

# 2) an old-format series record, then a snappy-compressed samples record for refs 1...6,
#    one sample each at t=5000, values 10, 20, ... 60
series2 = b"".join(uvar(i) + uvar(2) + s("__name__") + s("m") + s("i") + s(str(i)) for i in range(1, 7))
b2 = body(bytes([2, 0, 0]) * 6, var(5000) + b"\x00" * 5, b"".join(var(10 * i) for i in range(1, 7)), 6)
z = snappy(b2)
assert len(z) < len(b2), (len(z), len(b2))
seg2 = rec(1, series2) + rec(4, b"\x01" + z)
print("v2 snappy:", seg2.hex())
