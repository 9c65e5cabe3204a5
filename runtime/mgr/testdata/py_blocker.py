# Calls Blocker.wait() on a Go manager (it never returns) after saying "calling".
import sys
from multiprocessing.managers import BaseManager


class M(BaseManager):
    pass


M.register('Blocker')
m = M(sys.argv[1], authkey=bytes.fromhex(sys.argv[2]))
m.connect()
b = m.Blocker()
print('calling', flush=True)
b.wait()
