# Pops, from a dict and a list a Go client filled, values that cannot be pickled (a Go
# struct): every pop must fail with the manager's RemoteError, and the values must stay
# where they were (the Go test checks that afterwards). Prints OK.
import sys
from multiprocessing.managers import BaseManager, RemoteError


class M(BaseManager):
    pass


M.register('get_table')
M.register('get_items')
m = M(sys.argv[1], bytes.fromhex(sys.argv[2]))
m.connect()
d, l = m.get_table(), m.get_items()


def fails(what, fn):
    try:
        got = fn()
    except RemoteError as e:
        assert 'pickle' in str(e), (what, str(e))
        return
    raise AssertionError('%s returned %r, want RemoteError' % (what, got))


fails('dict.pop', lambda: d.pop('go'))
fails('dict.pop with a default', lambda: d.pop('go', None))
fails('dict.popitem', lambda: d.popitem())
fails('list.pop()', lambda: l.pop())
fails('list.pop(0)', lambda: l.pop(0))
assert len(d) == 1 and len(l) == 3, (len(d), len(l))
print('OK', flush=True)
