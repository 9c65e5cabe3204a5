#!/usr/bin/env python3
"""CPython clients against a manager, measured the same way whoever serves them.

Run by mgrbench (internal/bench/pyfront.go) once, against the Go manager's CPython
front-end (--address PATH --tcp HOST:PORT --key HEX) and CPython's own SyncManager
(started here as a child process), both over AF_UNIX, fork start method. Prints one JSON
object, {"go": ROWS, "py": ROWS}, each ROWS:

  seq     ValueProxy.get(), one client, sequential: p50/p99 µs, calls/s. The two managers
          are measured interleaved — rounds of 500 calls on each, the order alternating —
          so that both see the same machine: measured one after the other, the ratio
          moved from 0.83 to 1.55 between runs on a shared machine.
  procs4  4 client processes calling get() on one shared Value for a window: calls/s
  ccr_tcp create a dict proxy + one call + release over TCP (four authenticated
          connections: create, incref, decref, decref): p50 ms
"""
import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
from multiprocessing.managers import SyncManager


def pct(s, q):
    return s[int(q * (len(s) - 1))] if s else 0.0


def seq(vs, warm, n, rounds=500):
    """Interleaved sequential get() on each proxy of vs: p50/p99/rate for each."""
    for v in vs:
        for _ in range(warm):
            v.get()
    clock = time.perf_counter
    lats = [[] for _ in vs]
    spent = [0.0 for _ in vs]
    for r in range(max(1, n // rounds)):
        for k in range(len(vs)):
            i = (k + r) % len(vs)
            v, lat = vs[i], lats[i]
            start = clock()
            for _ in range(rounds):
                t0 = clock()
                v.get()
                lat.append(clock() - t0)
            spent[i] += clock() - start
    out = []
    for lat, t in zip(lats, spent):
        lat.sort()
        out.append({"p50_us": pct(lat, 0.5) * 1e6, "p99_us": pct(lat, 0.99) * 1e6, "rate": len(lat) / t})
    return out


def worker(v, barrier, duration, results):
    for _ in range(200):
        v.get()
    barrier.wait()
    n = 0
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        v.get()
        n += 1
    results.put(n)


def procs(v, nprocs, duration):
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(nprocs + 1), ctx.Queue()
    ps = [ctx.Process(target=worker, args=(v, barrier, duration, results)) for _ in range(nprocs)]
    for p in ps:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    total = sum(results.get(timeout=duration + 60) for _ in ps)
    elapsed = max(time.perf_counter() - t0, duration)
    for p in ps:
        p.join(30)
    return total / elapsed


def ccr(m, n):
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        d = m.dict()
        d["a"] = 1
        del d
        lat.append(time.perf_counter() - t0)
    lat.sort()
    return pct(lat, 0.5) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--tcp", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n, duration = (2000, 1.0) if a.quick else (10000, 3.0)
    key = os.urandom(32)
    d = tempfile.mkdtemp(prefix="pyfront-")
    mp_ = SyncManager(address=os.path.join(d, "s"), authkey=key)
    mp_.start()
    mg = SyncManager(address=a.address, authkey=bytes.fromhex(a.key))
    mg.connect()
    vg, vp = mg.Value("i", 7), mp_.Value("i", 7)
    sg, sp = seq([vg, vp], 1000, n)
    out = {"go": {"seq": sg}, "py": {"seq": sp}}
    out["go"]["procs4"] = procs(vg, 4, duration)
    out["py"]["procs4"] = procs(vp, 4, duration)
    del vg, vp
    mp_.shutdown()
    host, port = a.tcp.rsplit(":", 1)
    t = SyncManager(address=(host, int(port)), authkey=bytes.fromhex(a.key))
    t.connect()
    out["go"]["ccr_tcp_ms"] = ccr(t, 5 if a.quick else 11)
    t = SyncManager(address=("127.0.0.1", 0), authkey=key)
    t.start()
    out["py"]["ccr_tcp_ms"] = ccr(t, 5 if a.quick else 11)
    t.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
