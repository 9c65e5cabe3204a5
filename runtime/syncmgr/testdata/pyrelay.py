# A CPython client of mgrserve for TestPythonValuesReachGoWithoutPysync:
#   pyrelay.py ADDR produce   puts bytes, a tuple, a dict and a __main__ dataclass
#                             instance on the shared queue (get_queue)
#   pyrelay.py ADDR consume   reads them back, unchanged, from get_out (a Go client
#                             moved them there) and checks that nothing is left behind
#   pyrelay.py ADDR gostruct  fails to get a Go value it has no form for from get_queue,
#                             which keeps it
import os
import sys
from dataclasses import dataclass
from multiprocessing.managers import RemoteError, SyncManager


@dataclass
class Point:
    x: int
    y: str


ITEMS = [b'bytes', (1, 'two', 3.0), {'k': [1, 2], 2: b'x', (3, 4): None}, Point(5, 'six')]


class M(SyncManager):
    pass


M.register('get_queue')
M.register('get_out')
host, port = sys.argv[1].rsplit(':', 1)
m = M((host, int(port)), authkey=bytes.fromhex(os.environ['MGR_AUTHKEY']))
m.connect()
if sys.argv[2] == 'produce':
    q = m.get_queue()
    for item in ITEMS:
        q.put(item)
    assert q.qsize() == len(ITEMS), q.qsize()
elif sys.argv[2] == 'gostruct':
    q = m.get_queue()
    try:
        v = q.get_nowait()
    except RemoteError as e:
        assert 'cannot be pickled' in str(e), e
    else:
        raise AssertionError('got %r' % (v,))
    assert q.qsize() == 1, q.qsize()
else:
    out = m.get_out()
    got = [out.get(timeout=30) for _ in ITEMS]
    assert got == ITEMS, got
    assert type(got[3]) is Point, type(got[3])
    assert out.qsize() == 0, out.qsize()
    assert m.get_queue().qsize() == 0, m.get_queue().qsize()
print('OK', flush=True)
