# An unmodified CPython SyncManager client of a Go manager: every stock typeid, from
# threads and from fork and spawn children. Usage: sync_client.py ADDRESS KEYHEX
# (ADDRESS: a Unix socket path, or host:port). Prints OK and exits 0 when all is well.
import multiprocessing as mp
import queue
import sys
import threading
from multiprocessing.managers import SyncManager


def address(a):
    if a.startswith('/'):
        return a
    host, port = a.rsplit(':', 1)
    return (host, int(port))


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError('%s%r did not raise %s' % (getattr(fn, '__name__', fn), args, exc.__name__))


def child(name, d, l, q, lock, rlock, ev, ns, v, a, cond, bar):
    d[name] = mp.current_process().name
    l.append(name)
    q.put((name, 1))
    with lock:  # read-modify-writes of shared values need the lock, as in CPython
        v.value += 1
        a[0] = a[0] + 1
    assert rlock.acquire() and rlock.acquire()
    rlock.release(); rlock.release()
    ns.__setattr__(name, True)
    ev.wait(10)
    assert ev.is_set()
    with cond:
        cond.notify_all()
    bar.wait(10)


def check_children(m, method):
    ctx = mp.get_context(method)
    d, l, q = m.dict(), m.list(), m.Queue()
    lock, rlock, ev = m.Lock(), m.RLock(), m.Event()
    ns, v, a = m.Namespace(), m.Value('i', 0), m.Array('i', [0, 0])
    cond, bar = m.Condition(), m.Barrier(2)
    procs = [ctx.Process(target=child, args=(method + str(i), d, l, q, lock, rlock, ev, ns, v, a, cond, bar))
             for i in range(2)]
    for p in procs:
        p.start()
    ev.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0, (method, p.exitcode)
    assert sorted(l) == [method + '0', method + '1'], list(l)
    assert len(d) == 2 and v.value == 2 and a[0] == 2
    assert sorted([q.get(timeout=5)[0], q.get(timeout=5)[0]]) == [method + '0', method + '1']
    assert getattr(ns, method + '0') and getattr(ns, method + '1')


def main():
    addr, key = address(sys.argv[1]), bytes.fromhex(sys.argv[2])

    # A wrong key is refused (3.11 answers our challenge with HMAC-MD5, 3.12+ with SHA-256).
    bad = SyncManager(addr, b'wrong key')
    raises(mp.AuthenticationError, bad.connect)

    m = SyncManager(addr, key)
    m.connect()

    d = m.dict({'a': 1})
    d['b'] = 2
    d.update(c=3)
    d[(1, 2)] = 'tuple key'
    assert d['a'] == 1 and d.get('zz', 9) == 9 and len(d) == 4 and 'b' in d
    raises(KeyError, d.__getitem__, 'missing')
    raises(TypeError, d.__setitem__, [1], 1)  # unhashable
    assert list(iter(d)) == ['a', 'b', 'c', (1, 2)]  # iter() is a #PROXY of an Iterator
    assert d.pop('c') == 3 and d.pop('c', None) is None and d.setdefault('e', 5) == 5
    assert dict(d.items())['b'] == 2 and d.copy()['a'] == 1
    assert str(d).startswith('{') and d._getvalue()['e'] == 5
    del d['e']
    d.clear()
    raises(KeyError, d.popitem)

    l = m.list([3, 1, 2])
    l.sort()
    assert l[0] == 1 and l[-1] == 3 and l[0:2] == [1, 2] and l[::-1] == [3, 2, 1]
    raises(IndexError, l.__getitem__, 10)
    l.append(4); l.extend([5, 6]); l += [7]
    assert len(l) == 7 and l.index(4) == 3 and l.count(1) == 1 and 5 in l
    assert l.pop() == 7 and l.pop(0) == 1
    l.remove(6)
    raises(ValueError, l.remove, 60)
    l.reverse()
    assert list(l) == [5, 4, 3, 2], list(l)
    l *= 2
    assert len(l) == 8 and l + [0] == [5, 4, 3, 2, 5, 4, 3, 2, 0]

    q = m.Queue(2)
    assert q.empty() and not q.full()
    q.put({'k': (1, 2)}); q.put_nowait(b'bytes')
    assert q.full() and q.qsize() == 2
    raises(queue.Full, q.put_nowait, 3)
    raises(queue.Full, q.put, 3, True, 0.01)
    assert q.get() == {'k': (1, 2)} and q.get_nowait() == b'bytes'
    raises(queue.Empty, q.get_nowait)
    raises(queue.Empty, q.get, True, 0.01)
    raises(queue.Empty, q.get, False)

    jq = m.JoinableQueue()
    jq.put(1)
    assert jq.get() == 1
    jq.task_done()
    jq.join()
    raises(ValueError, jq.task_done)

    lock = m.Lock()
    assert lock.acquire() and not lock.acquire(False) and not lock.acquire(True, 0.01)
    lock.release()
    raises(RuntimeError, lock.release)
    with lock:
        pass

    rl = m.RLock()
    assert rl.acquire() and rl.acquire()
    rl.release(); rl.release()
    raises(RuntimeError, rl.release)
    # Another thread (another connection: its own owner) cannot take a held RLock.
    rl.acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(rl.acquire(True, 0.05)))
    t.start(); t.join()
    assert got == [False]
    rl.release()

    sem = m.Semaphore(2)
    assert sem.acquire() and sem.acquire() and not sem.acquire(False)
    sem.release(); sem.release()
    bs = m.BoundedSemaphore(1)
    bs.acquire(); bs.release()
    raises(ValueError, bs.release)

    cond = m.Condition()
    with cond:
        assert cond.wait(0.01) is False
    raises(RuntimeError, cond.wait, 0.01)
    ready = m.Event()
    woke = []
    def waiter():
        with cond:
            ready.set()
            woke.append(cond.wait(10))
    t = threading.Thread(target=waiter)
    t.start()
    assert ready.wait(10)
    with cond:
        cond.notify()
    t.join()
    assert woke == [True]

    ev = m.Event()
    assert not ev.is_set() and ev.wait(0.01) is False
    ev.set()
    assert ev.is_set() and ev.wait() is True
    ev.clear()

    bar = m.Barrier(2)
    assert bar.parties == 2 and bar.n_waiting == 0 and not bar.broken
    idx = []
    ts = [threading.Thread(target=lambda: idx.append(bar.wait(10))) for _ in range(2)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert sorted(idx) == [0, 1]
    bar.abort()
    assert bar.broken
    raises(threading.BrokenBarrierError, bar.wait, 1)
    bar.reset()
    assert not bar.broken

    ns = m.Namespace(name='Bob')
    ns.x = 1
    assert ns.x == 1 and ns.name == 'Bob'
    del ns.x
    assert not hasattr(ns, 'x') and str(ns) == "Namespace(name='Bob')", str(ns)

    v = m.Value('i', 3)
    assert v.value == 3 and v.get() == 3
    v.value = 4
    assert v.get() == 4

    a = m.Array('i', [1, 2, 3])
    assert len(a) == 3 and a[0] == 1 and list(a) == [1, 2, 3]
    a[1] = 5
    assert a[1] == 5 and a[:] == [1, 5, 3]
    raises(IndexError, a.__getitem__, 3)

    # A proxy stored in a shared list: the manager keeps its object, and reading it back
    # gives a working proxy (rebuilt with current_process().authkey, as CPython does).
    mp.current_process().authkey = key
    outer, inner = m.list(), m.list([1])
    outer.append(inner)
    del inner
    outer[0].append(2)
    assert outer[0][:] == [1, 2]
    nested = m.dict()
    nested['q'] = m.Queue()
    nested['q'].put('via nested')
    assert nested['q'].get() == 'via nested'

    # Threads: each has its own connection; the lock keeps the count exact.
    counter, tlock = m.Value('i', 0), m.Lock()
    def work():
        for _ in range(25):
            with tlock:
                counter.value += 1
    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert counter.value == 100

    for method in ('fork', 'spawn'):
        check_children(m, method)

    # The manager's own operations: number_of_objects, debug_info, get_methods (an
    # AutoProxy made without its exposed list asks for it).
    from multiprocessing.managers import AutoProxy, RemoteError
    assert m._number_of_objects() > 0
    assert 'refcount=' in m._debug_info()
    q2 = m.Queue()
    auto = AutoProxy(q2._token, 'pickle', authkey=key)
    auto.put(1)
    assert q2.get() == 1 and 'put' in auto._exposed_
    raises(RemoteError, q2._callmethod, 'no_such_method')
    raises(RemoteError, m._create, 'NoSuchType')
    print('OK', flush=True)


if __name__ == '__main__':
    main()
