# Reads what a Go client put on the queue the Go manager shares as get_jobs and stored in
# the dict it shares as get_table; prints OK when each has the Python type expected.
import sys
from multiprocessing.managers import BaseManager


class M(BaseManager):
    pass


M.register('get_jobs')
M.register('get_table')
m = M(sys.argv[1], bytes.fromhex(sys.argv[2]))
m.connect()
q, d = m.get_jobs(), m.get_table()
got = q.get(timeout=30)
want = [7, 'from Go', b'\x00\x01', 2.5, True, None, [1, 2]]
assert got == want, (got, want)
assert d['answer'] == 42 and d.get('name') == 'gopher', d._getvalue()
d['from python'] = (1, 'tuple')
print('OK', flush=True)
