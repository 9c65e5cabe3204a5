#!/usr/bin/env python3
"""CPython clients against a manager, measured the same way whoever serves them.

Run by mgrbench (internal/bench/pyfront.go) twice in one run: once against the Go
manager's CPython front-end (--address PATH --key HEX), once against CPython's own
SyncManager (--cpython, started here as a child process). Both over AF_UNIX, fork start
method. Prints one JSON object:

  seq     ValueProxy.get(), one client, sequential: p50/p99 µs, calls/s
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


def seq(v, warm, n):
    for _ in range(warm):
        v.get()
    lat = [0.0] * n
    clock = time.perf_counter
    start = clock()
    for i in range(n):
        t0 = clock()
        v.get()
        lat[i] = clock() - t0
    total = clock() - start
    lat.sort()
    return {"p50_us": pct(lat, 0.5) * 1e6, "p99_us": pct(lat, 0.99) * 1e6, "rate": n / total}


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
    ap.add_argument("--address")
    ap.add_argument("--tcp")
    ap.add_argument("--key")
    ap.add_argument("--cpython", action="store_true")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n, duration = (2000, 1.0) if a.quick else (10000, 3.0)
    if a.cpython:
        key = os.urandom(32)
        d = tempfile.mkdtemp(prefix="pyfront-")
        m = SyncManager(address=os.path.join(d, "s"), authkey=key)
        m.start()
    else:
        m = SyncManager(address=a.address, authkey=bytes.fromhex(a.key))
        m.connect()
    v = m.Value("i", 7)
    out = {"seq": seq(v, 1000, n), "procs4": procs(v, 4, duration)}
    del v
    if a.cpython:
        m.shutdown()
        t = SyncManager(address=("127.0.0.1", 0), authkey=key)
        t.start()
    else:
        host, port = a.tcp.rsplit(":", 1)
        t = SyncManager(address=(host, int(port)), authkey=bytes.fromhex(a.key))
        t.connect()
    out["ccr_tcp_ms"] = ccr(t, 5 if a.quick else 11)
    if a.cpython:
        t.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
