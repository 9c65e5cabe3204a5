# A CPython client of mgrserve: stock typeids plus the shared queue (get_queue).
import os
import sys
from multiprocessing.managers import SyncManager


class M(SyncManager):
    pass


M.register('get_queue')
host, port = sys.argv[1].rsplit(':', 1)
m = M((host, int(port)), authkey=bytes.fromhex(os.environ['MGR_AUTHKEY']))
m.connect()
d = m.dict()
d['x'] = [1, 2]
assert d['x'] == [1, 2]
q = m.get_queue()
q.put('hello from python')
print('OK', flush=True)
