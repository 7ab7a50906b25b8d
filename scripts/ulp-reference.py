#!/usr/bin/env python3
"""Reference values for scripts/ulp-error.mjs: x, y, and exp(x) / log(x) / log(x/y)
rounded to a double-double (hi, lo), computed with mpmath at 40 digits.

usage: ulp-reference.py exp|log|ratio OUT.bin [count]"""
import sys, struct, random
import mpmath as mp

mp.mp.dps = 40
kind, out = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 18
rnd = random.Random(20261124)
buf = bytearray()
for _ in range(count):
    y = 0.0
    if kind == 'exp':
        x = rnd.uniform(-708.3, 709.7)
        v = mp.exp(x)
    elif kind == 'log':
        x = 2.0 ** rnd.uniform(-1020, 1020)
        v = mp.log(x)
    else:
        y = 2.0 ** rnd.uniform(-60, 60)
        x = y * (1 + (rnd.random() - 0.5) * 2.0 ** (-rnd.uniform(0, 50)))
        v = mp.log(mp.mpf(x) / mp.mpf(y))
    if v == 0:
        continue
    hi = float(v)
    lo = float(v - mp.mpf(hi))
    buf += struct.pack('<4d', x, y, hi, lo)
open(out, 'wb').write(bytes(buf))
