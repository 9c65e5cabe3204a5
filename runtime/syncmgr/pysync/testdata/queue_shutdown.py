# Python 3.13's Queue.shutdown through an unmodified SyncManager client of a Go manager:
# after shutdown() put raises queue.ShutDown, get drains what is left and then raises it;
# shutdown(immediate=True) drops the items, wakes a waiting getter, and releases join().
# Usage: queue_shutdown.py ADDRESS KEYHEX. Prints OK.
import queue
import sys
import threading
from multiprocessing.managers import SyncManager

m = SyncManager(address=sys.argv[1], authkey=bytes.fromhex(sys.argv[2]))
m.connect()

q = m.Queue()
q.put(1)
q.put(2)
q.shutdown()
try:
    q.put(3)
    raise AssertionError('put after shutdown did not raise')
except queue.ShutDown:
    pass
assert q.get() == 1 and q.get_nowait() == 2
for get in (q.get, q.get_nowait):
    try:
        get()
        raise AssertionError('get of a shut-down, empty queue did not raise')
    except queue.ShutDown:
        pass

jq = m.JoinableQueue()
jq.put('a')
jq.put('b')
got = []


def waiter():
    try:
        w.get(timeout=60)
        got.append('item')
    except queue.ShutDown:
        got.append('ShutDown')


# The getter waits in the manager or has not asked yet: either way it gets ShutDown
# (syncmgr's TestQueueShutdownWakesWaiters checks the waking deterministically).
w = m.Queue()
t = threading.Thread(target=waiter)
t.start()
w.shutdown(immediate=True)
t.join(60)
assert got == ['ShutDown'], got

jq.shutdown(immediate=True)
assert jq.qsize() == 0
jq.join()  # the dropped items count as done
print('OK')
