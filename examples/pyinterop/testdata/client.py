# An unmodified BaseManager client of examples/pyinterop (seeds 002 and 004 from Python).
# Usage: client.py ADDRESS (host:port or a socket path); the key is MGR_AUTHKEY, in hex.
import os
import sys
from multiprocessing.managers import BaseManager


class M(BaseManager):
    pass


M.register('Counter')
M.register('get_pair')

a = sys.argv[1]
if not a.startswith('/'):
    host, port = a.rsplit(':', 1)
    a = (host, int(port))
m = M(a, authkey=bytes.fromhex(os.environ['MGR_AUTHKEY']))
m.connect()

c = m.Counter()
assert c.increment() == 1 and c.increment() == 2 and c.decrement() == 1
assert c.get_value() == 1
try:
    c.increment('not a number')  # Counter.Increment takes no argument
except TypeError as e:
    print('TypeError:', e)
else:
    raise AssertionError('a bad call did not raise TypeError')
assert c.get_value() == 1  # nothing changed

p = m.get_pair()
assert p.get_x() == 5
assert not hasattr(p, 'get_y'), 'get_y is not exposed'
assert m.get_pair()._token.id == p._token.id  # the one shared Pair
print('counter', c.get_value(), 'pair.get_x', p.get_x())
print('OK', flush=True)
