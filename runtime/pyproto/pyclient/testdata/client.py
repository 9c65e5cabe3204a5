"""A CPython client sharing queues with the Go client (pyclient's TestOpaqueValues).

  python3 client.py put|get ADDRESS_JSON AUTHKEY_HEX

put: puts values.sample() on queue 'a'. get: reads two values from queue 'b' and checks
them: the sample passed through Go unchanged, then a value Go made. Prints "ok".
"""
import json
import sys
from multiprocessing.managers import BaseManager

from values import sample


class Manager(BaseManager):
    pass


Manager.register('shared_queue')


def main():
    mode, addr, key = sys.argv[1], json.loads(sys.argv[2]), bytes.fromhex(sys.argv[3])
    if isinstance(addr, list):
        addr = tuple(addr)
    m = Manager(address=addr, authkey=key)
    m.connect()
    if mode == 'put':
        m.shared_queue('a').put(sample())
    else:
        q = m.shared_queue('b')
        got = q.get(timeout=60)
        assert got == sample(), (got, sample())
        got = q.get(timeout=60)
        want = {'go': [1, 2.5, b'\x00'], 'tuple': (1, 'x')}
        assert got == want, (got, want)
    print('ok')


main()
