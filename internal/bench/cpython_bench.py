#!/usr/bin/env python3
"""CPython's own multiprocessing.managers, measured the way mgrbench measures mgr.

Run by mgrbench (internal/bench/cpython.go); prints one JSON object on stdout.
Every figure is measured over AF_UNIX with the fork start method, in processes of its own:
the manager is a child process (SyncManager.start), clients are this process or forked
client processes. Operations mirror the mgr rows:

  seq       Counter.add(1) through an AutoProxy, one client, sequential: p50/p99 µs, calls/s
  procs<N>  N client processes calling add(1) on one shared Counter for a window: calls/s
  ccr       create a Counter + one add + release (drop the proxy): ops/s, p50 µs
  echo1k    Counter.echo(1 KiB bytes) round trip: p50 µs, calls/s
  dict      DictProxy d[k] = i and d[k], sequential: ops/s
  queue     Queue proxy put (producer process) → get (consumer process): items/s,
            ints and 1 KiB bytes
  pool      multiprocessing.Pool(2).map(square, range(100000)), default chunksize
            (12,500, the same rule as mgr's pool): the median Map, items/s and ms
  shm       64 MiB handed to a consumer process through a fresh SharedMemoryManager
            block (create, copy in, send its name, the consumer attaches and reads one
            byte per 4 KiB page, answers, the manager releases the block): median,
            MiB/s and ms
The seq figure also carries its latency distribution (q_us: the i/1000 quantiles).
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.managers import SharedMemoryManager, SyncManager, dispatch


class Counter:
    def __init__(self, start=0):
        self.n = start

    def add(self, d):
        self.n += d
        return self.n

    def value(self):
        return self.n

    def echo(self, b):
        return b


class BenchManager(SyncManager):
    pass


BenchManager.register("Counter", Counter)


def pct(sorted_samples, q):
    if not sorted_samples:
        return 0.0
    return sorted_samples[int(q * (len(sorted_samples) - 1))]


def time_seq(warm, n, op):
    for _ in range(warm):
        op()
    lat = [0.0] * n
    clock = time.perf_counter
    start = clock()
    for i in range(n):
        t0 = clock()
        op()
        lat[i] = clock() - t0
    total = clock() - start
    lat.sort()
    return {
        "p50_us": pct(lat, 0.50) * 1e6,
        "p99_us": pct(lat, 0.99) * 1e6,
        "rate": n / total,
        "n": n,
        "q_us": [round(pct(lat, i / 1000) * 1e6, 2) for i in range(1001)],
    }


def load_worker(counter, barrier, duration, results):
    for _ in range(200):
        counter.add(1)
    barrier.wait()
    n = 0
    t0 = time.perf_counter()
    end = t0 + duration
    while True:
        counter.add(1)
        n += 1
        if (n & 63) == 0 and time.perf_counter() >= end:
            break
    results.put((n, time.perf_counter() - t0))


def procs_rate(counter, procs, duration):
    barrier = mp.Barrier(procs)
    results = mp.Queue()
    ps = [mp.Process(target=load_worker, args=(counter, barrier, duration, results)) for _ in range(procs)]
    for p in ps:
        p.start()
    total = 0.0
    for _ in ps:
        n, secs = results.get()
        total += n / secs
    for p in ps:
        p.join()
    return total


def producer(q, n, item, barrier):
    barrier.wait()
    for _ in range(n):
        q.put(item)


def consumer(q, n, barrier, results):
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(n):
        q.get()
    results.put(time.perf_counter() - t0)


def queue_rate(m, n, item):
    q = m.Queue()
    barrier = mp.Barrier(2)
    results = mp.Queue()
    pp = mp.Process(target=producer, args=(q, n, item, barrier))
    cp = mp.Process(target=consumer, args=(q, n, barrier, results))
    pp.start()
    cp.start()
    secs = results.get()
    pp.join()
    cp.join()
    return n / secs


def square(x):
    return x * x


def pool_map(quick):
    n = 100000
    xs = range(n)
    times = []
    with mp.Pool(2) as p:
        p.map(square, xs)  # warm-up: both workers running
        for _ in range(9 if quick else 15):  # as many as pool_rows.go times
            t0 = time.perf_counter()
            r = p.map(square, xs)
            times.append(time.perf_counter() - t0)
            assert r[-1] == (n - 1) * (n - 1)
    times.sort()
    med = times[len(times) // 2]
    return {"rate": n / med, "ms": med * 1e3}


SHM_SIZE = 64 << 20


def touch(buf):
    return sum(buf[::4096])


def shm_consumer(work, ack):
    while True:
        name = work.get()
        if name is None:
            return
        s = shared_memory.SharedMemory(name=name)
        # This process only borrows the block: without this its resource tracker would
        # unlink it (or warn) at exit (CPython gh-82300).
        resource_tracker.unregister(s._name, "shared_memory")
        total = touch(s.buf)
        s.close()
        ack.put(total)


def shm_handoff(quick):
    src = bytes((i * 7) & 255 for i in range(256)) * (SHM_SIZE // 256)
    want = touch(memoryview(src))
    work, ack = mp.Queue(), mp.Queue()
    c = mp.Process(target=shm_consumer, args=(work, ack))
    c.start()
    times = []
    try:
        with SharedMemoryManager() as smm:
            for i in range((4 if quick else 12) + 1):  # the first warms up
                t0 = time.perf_counter()
                s = smm.SharedMemory(size=SHM_SIZE)
                s.buf[:SHM_SIZE] = src
                work.put(s.name)
                got = ack.get(timeout=60)
                name = s.name
                s.close()
                # The manager unlinks it now rather than at shutdown (what mgr's release does).
                with smm._Client(smm._address, authkey=smm._authkey) as conn:
                    dispatch(conn, None, "release_segment", (name,))
                if i > 0:
                    times.append(time.perf_counter() - t0)
                assert got == want, (got, want)
    finally:
        work.put(None)
        c.join()
    times.sort()
    med = times[len(times) // 2]
    return {"rate": SHM_SIZE / (1 << 20) / med, "ms": med * 1e3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="managers,pool,shm", help="comma-separated: managers,pool,shm")
    args = ap.parse_args()
    quick = args.quick
    only = set(args.only.split(","))
    mp.set_start_method("fork")
    out = {"python": sys.version.split()[0], "start_method": "fork", "quick": quick}
    if "managers" in only:
        managers(out, quick)
    if "pool" in only:
        out["pool"] = pool_map(quick)
    if "shm" in only:
        out["shm"] = shm_handoff(quick)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def managers(out, quick):
    n_seq = 5000 if quick else 20000
    warm = 500 if quick else 2000
    window = 1.5 if quick else 3.0

    m = BenchManager()
    m.start()
    try:
        c = m.Counter(0)
        out["seq"] = time_seq(warm, n_seq, lambda: c.add(1))

        for procs in ((1, 4) if quick else (1, 2, 4)):
            out["procs%d" % procs] = procs_rate(c, procs, window)

        def ccr():
            x = m.Counter(1)
            x.add(1)
            del x  # the proxy's finalizer decrefs: the release

        out["ccr"] = time_seq(100 if quick else 200, 1000 if quick else 3000, ccr)

        blob = bytes(range(256)) * 4
        out["echo1k"] = time_seq(warm // 2, n_seq // 2, lambda: c.echo(blob))

        d = m.dict()
        keys = ["k%d" % i for i in range(n_seq)]
        t0 = time.perf_counter()
        for i, k in enumerate(keys):
            d[k] = i
        out["dict_set"] = {"rate": n_seq / (time.perf_counter() - t0)}
        t0 = time.perf_counter()
        for k in keys:
            d[k]
        out["dict_get"] = {"rate": n_seq / (time.perf_counter() - t0)}

        nq = 5000 if quick else 20000
        out["queue_int"] = {"rate": queue_rate(m, nq, 1)}
        out["queue_1k"] = {"rate": queue_rate(m, nq, blob)}
    finally:
        m.shutdown()


if __name__ == "__main__":
    main()
