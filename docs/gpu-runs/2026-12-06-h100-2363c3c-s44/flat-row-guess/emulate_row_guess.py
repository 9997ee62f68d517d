"""Session 44: the flat SDDMM kernel's row search with the guessed rows (flat-row-guess.patch),
emulated lane by lane in Python, checked against np.searchsorted on random, skewed and sparse
row lengths, then its hit rate (warps whose rows the guess's 62 rows hold) on DLMC's patterns.
Usage: python3 emulate_row_guess.py [DLMC_DIR]  (default ../shared/dlmc)"""
import sys
import numpy as np
INT_MAX=2**31-1
def lanes_at_most(vals, e_per_lane):
    out=[]
    for l in range(32):
        e=e_per_lane[l]; c=0
        for step in (16,8,4,2,1):
            if vals[c+step-1] <= e: c+=step
        out.append(c)
    return out
def row_of_entry(off, lo, m, e):
    hi=m-1
    while lo<hi:
        mid=(lo+hi+1)>>1
        if off[mid]<=e: lo=mid
        else: hi=mid-1
    return lo
def warp_rows(off, m, nnz, first, es, stats):
    lo, hi = 0, m-1; guessed=False
    while hi-lo>=32:
        stride=(hi-lo+32)//32
        probed=[(lo+l*stride)<=hi and off[lo+l*stride]<=first for l in range(32)]
        if not guessed:
            guessed=True
            near=int(np.float32(first)*(np.float32(m)/np.float32(nnz)))
            guess=max(min(near-31,m-62),0)
            low=[off[min(guess+l,m)] for l in range(32)]
            high=[off[min(guess+31+l,m)] for l in range(32)]
            if low[0]<=first and max(es)<high[31]:
                stats['hit']+=1
                cl=lanes_at_most(low,es); ch=lanes_at_most(high,es)
                return [min(guess+30+ch[l] if low[31]<=es[l] else guess-1+cl[l], m-1) for l in range(32)]
        below=[l for l in range(32) if probed[l]]
        lo += (below[-1] if below else 0)*stride
        hi=min(hi, lo+stride-1)
    stats['miss']+=1
    nxt=[off[lo+1+l] if lo+1+l<m else INT_MAX for l in range(32)]
    cnt=lanes_at_most(nxt, es)
    return [row_of_entry(off, lo+32, m, es[l]) if nxt[31]<=es[l] else lo+cnt[l] for l in range(32)]
rng=np.random.default_rng(0)
for trial in range(300):
    m=int(rng.integers(33,3000)); kind=trial%4
    if kind==0: lens=rng.poisson(rng.uniform(1,60),m)
    elif kind==1: lens=(np.arange(m)*rng.uniform(0.01,0.5)).astype(int)  # skewed
    elif kind==2: lens=np.where(rng.random(m)<0.05, rng.integers(1,30,m),0)  # sparse rows
    else: lens=np.where(np.arange(m)%37==0, rng.integers(1,6,m),0)
    lens[-3:]=0
    off=np.concatenate([[0],np.cumsum(lens)]).astype(np.int64); nnz=int(off[-1])
    if nnz==0: continue
    truth=np.searchsorted(off, np.arange(nnz), side='right')-1
    stats={'hit':0,'miss':0}
    for lanes in (1,8):
        ent=32//lanes
        for w in range(0,(nnz+ent-1)//ent, max(1,(nnz//ent)//50)):
            first=w*ent
            es=[first+l//lanes if first+l//lanes<nnz else first for l in range(32)]
            rows=warp_rows(off,m,nnz,first,es,stats)
            for l in range(32):
                if first+l//lanes<nnz: assert rows[l]==truth[es[l]], (trial,kind,first,l,rows[l],truth[es[l]])
    if trial<12: print(kind, m, nnz, stats)
print("ok")
import gzip,glob
def load(p):
    with gzip.open(p,'rt') as f:
        h=f.readline(); off=np.array(f.readline().split(),dtype=np.int64)
    return off
tot={'hit':0,'miss':0}
for p in sorted(glob.glob((sys.argv[1] if len(sys.argv) > 1 else '../shared/dlmc') + '/*/magnitude_pruning/*/*.smtx.gz')):
    off=load(p); m=len(off)-1; nnz=int(off[-1])
    if m<=32 or nnz==0: continue
    st={'hit':0,'miss':0}
    for lanes in (1,4,8):
        ent=32//lanes
        for w in range(0,(nnz+ent-1)//ent, max(1,(nnz//ent)//200)):
            first=w*ent
            es=[first+l//lanes if first+l//lanes<nnz else first for l in range(32)]
            warp_rows(off,m,nnz,first,es,st)
    for k in st: tot[k]+=st[k]
    if st['miss']>0.1*(st['hit']+st['miss']): print(p.split('dlmc/')[1], m, nnz, st)
print(tot)
