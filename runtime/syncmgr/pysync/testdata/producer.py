# Puts items on the queue a Go manager shares as typeid get_jobs, then None.
import sys
from multiprocessing.managers import BaseManager


class M(BaseManager):
    pass


M.register('get_jobs')
m = M(sys.argv[1], bytes.fromhex(sys.argv[2]))
m.connect()
q = m.get_jobs()
for i in range(int(sys.argv[3])):
    q.put([i, 'item %d' % i, b'\x00\x01', i * 0.5, i % 2 == 0])
q.put(None)
print('done', flush=True)
