#!/usr/bin/env python3
"""Reference values for scripts/ulp-error.mjs, computed with mpmath at 40 digits and
rounded to a double-double (hi, lo).  Records of five float64s: x, y, T, hi, lo.

  exp:   exp((x − y)/T) for batches of 512 x sharing (y, T)
  log:   log x
  ratio: log(x/y) for x ≈ y
  expu:  exp(x) for x ≤ 0 down to the normal range's bottom (the JS twins' expNonPos)

usage: ulp-reference.py exp|log|ratio|expu OUT.bin [count]"""
import random
import struct
import sys

import mpmath as mp

mp.mp.dps = 40
kind, out = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 18
rnd = random.Random(20261124)
buf = bytearray()
y, T = 0.0, 1.0
for i in range(count):
    if kind == 'exp':
        if i % 512 == 0:
            y = rnd.choice([0.0, rnd.uniform(-50, 50), rnd.uniform(-1e6, 1e6)])
            T = rnd.choice([1.0, 1.0, rnd.uniform(0.05, 20)])
        x = y - rnd.uniform(0, 708 * T) * rnd.random() ** 2
        v = mp.exp((mp.mpf(x) - mp.mpf(y)) / mp.mpf(T))
    elif kind == 'expu':
        x = -708.39 * rnd.random() ** rnd.choice([1, 2, 8])
        v = mp.exp(mp.mpf(x))
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
    buf += struct.pack('<5d', x, y, T, hi, lo)
open(out, 'wb').write(bytes(buf))
