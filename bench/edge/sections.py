#!/usr/bin/env python3
"""Resident KiB of a running process's executable by ELF section (root: reads /proc/PID/pagemap).

    python3 bench/edge/sections.py PID

smaps says how much of each mapping is resident; this says which sections those pages hold, so a
link change can be aimed at what start-up and the steady state really touch (relocation tables,
Swift metadata, .eh_frame, text). A page shared by two sections counts for both. "dirty" = the
page is no longer the file's (written: relocations, .data, .bss), i.e. it is anonymous memory.
"""
import os, struct, subprocess, sys

pid = int(sys.argv[1])
exe = os.readlink(f"/proc/{pid}/exe")
PAGE = os.sysconf("SC_PAGE_SIZE")

# Sections with an address: name, virtual address, size (from readelf, no Python ELF package needed).
sections = []
for line in subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True, check=True).stdout.splitlines():
    line = line.replace("[ ", "[")
    f = line.split()
    if len(f) > 6 and f[0].startswith("[") and f[0] != "[Nr]":
        name, addr, size = f[1], int(f[3], 16), int(f[5], 16)
        if addr and size and f[2] != "NOBITS" or (f[2] == "NOBITS" and addr):
            sections.append((name, addr, size))

# The load bias: the first mapping of the executable at file offset 0 is its address 0.
bias = None
maps = []
with open(f"/proc/{pid}/maps") as m:
    for line in m:
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        path = f[5] if len(f) > 5 else ""
        if path == exe and int(f[2], 16) == 0 and bias is None:
            bias = lo
        maps.append((lo, hi, path))
if bias is None:
    sys.exit("executable mapping not found")

def present(lo, hi, pm):
    """Per page in [lo, hi): (resident, exclusive/anonymous) from pagemap bits 63 and 61."""
    pm.seek(lo // PAGE * 8)
    data = pm.read((hi - lo) // PAGE * 8)
    for (e,) in struct.iter_unpack("<Q", data):
        yield bool(e >> 63 & 1), not (e >> 61 & 1)

with open(f"/proc/{pid}/pagemap", "rb") as pm:
    rows = []
    for name, addr, size in sections:
        lo = (bias + addr) // PAGE * PAGE
        hi = (bias + addr + size + PAGE - 1) // PAGE * PAGE
        # Only pages of mappings that exist (NOBITS past the file are anonymous mappings too).
        res = dirty = 0
        for mlo, mhi, _ in maps:
            a, b = max(lo, mlo), min(hi, mhi)
            if a < b:
                for r, anon in present(a, b, pm):
                    res += r
                    dirty += r and anon
        rows.append((name, size, res * PAGE, dirty * PAGE))
print(f"{'section':32} {'size_KiB':>9} {'resident_KiB':>12} {'dirty_KiB':>9}")
for name, size, res, dirty in rows:
    print(f"{name:32} {size // 1024:9d} {res // 1024:12d} {dirty // 1024:9d}")
print(f"{'TOTAL':32} {sum(r[1] for r in rows) // 1024:9d} {sum(r[2] for r in rows) // 1024:12d} {sum(r[3] for r in rows) // 1024:9d}")
