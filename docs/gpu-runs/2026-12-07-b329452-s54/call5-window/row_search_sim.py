# Session 54: a lane-by-lane simulation of window.patch's row search (WarpRowOfEntry for m <= 512,
# then the window count and the fallback search), against the true row on random valid patterns
# (empty rows and runs of them) and, on random invalid offsets, that every row lies in [0, m - 1].
# Run: python3 row_search_sim.py (prints ok; it passed in session 54).

import numpy as np
INT_MAX = 2**31 - 1
def row_of_entry(off, lo, m, e):
    hi = m - 1
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if off[mid] <= e: lo = mid
        else: hi = mid - 1
    return lo
def warp_rows(off, m, first, es):
    S = 16
    offs = [[off[l + 32*i] if l + 32*i < m else INT_MAX for i in range(S)] for l in range(32)]
    rows_at_most = sum(sum(1 for l in range(32) if offs[l][i] <= first) for i in range(S))
    lo = 0 if rows_at_most < 1 else rows_at_most - 1
    nxt = []
    for l in range(32):
        r = lo + 1 + l; src = r % 32; slot = r // 32
        v = INT_MAX
        for i in range(S):
            if slot == i: v = offs[src][i]
        nxt.append(v)
    last = nxt[31]
    out = []
    for l in range(32):
        e = es[l]; count = 0; step = 16
        while step > 0:
            if nxt[count + step - 1] <= e: count += step
            step //= 2
        out.append(row_of_entry(off, lo + 32, m, e) if last <= e else lo + count)
    return out
rng = np.random.default_rng(0)
for trial in range(3000):
    m = int(rng.integers(1, 513))
    valid = trial % 3 != 0
    if valid:
        lens = rng.integers(0, 6, m) * (rng.random(m) < rng.random())
        off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        nnz = int(off[-1])
        if nnz == 0: continue
        for first in range(0, nnz, 32):
            es = [min(first + l, nnz - 1) if first + l < nnz else first for l in range(32)]
            got = warp_rows(off, m, first, es)
            for l in range(32):
                e = first + l
                if e < nnz:
                    want = int(np.searchsorted(off[:m], e, side='right') - 1)
                    assert got[l] == want, (m, first, l, got[l], want)
    else:
        off = rng.integers(0, 200, m + 1)
        nnz = 200
        first = int(rng.integers(0, nnz)); es = [min(first + l, nnz - 1) for l in range(32)]
        got = warp_rows(off, m, first, es)
        assert all(0 <= g <= m - 1 for g in got), (m, got)
print("ok")
