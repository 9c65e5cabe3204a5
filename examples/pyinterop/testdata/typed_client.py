# A client of examples/pyinterop through the module mgrgen generated beside it
# (mgr_gen.py): the typed PyinteropManager and its proxy classes, no register() calls.
# Usage: typed_client.py ADDRESS (host:port or a socket path); the key is MGR_AUTHKEY, in hex.
import inspect
import os
import sys
import typing

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import mgr_gen  # noqa: E402
from mgr_gen import CounterProxy, PairProxy, PyinteropManager  # noqa: E402

# The generated classes say what they are.
assert CounterProxy._exposed_ == ('add', 'decrement', 'get_value', 'increment'), CounterProxy._exposed_
assert PairProxy._exposed_ == ('get_x',), PairProxy._exposed_
assert typing.get_type_hints(CounterProxy.increment) == {'return': int}
assert typing.get_type_hints(CounterProxy.add) == {'delta': int, 'return': int}
assert typing.get_type_hints(PairProxy.get_x) == {'return': int}
assert 'adds one' in inspect.getdoc(CounterProxy.increment)
assert set(mgr_gen.__all__) == {'CounterProxy', 'PairProxy', 'PyinteropManager'}

a = sys.argv[1]
if not a.startswith('/'):
    host, port = a.rsplit(':', 1)
    a = (host, int(port))
m = PyinteropManager(a, authkey=bytes.fromhex(os.environ['MGR_AUTHKEY']))
m.connect()

c = m.Counter()
assert type(c) is CounterProxy, type(c)
assert c.increment() == 1 and c.increment() == 2 and c.decrement() == 1
assert c.add(41) == 42 and c.add(-41) == 1
assert c.get_value() == 1
try:
    c.increment(5)  # the typed method takes no argument: Python refuses before calling
except TypeError as e:
    print('TypeError:', e)
else:
    raise AssertionError('a bad call did not raise TypeError')
try:
    c.add('not a number')  # type hints are not enforced: the server refuses
except TypeError as e:
    print('TypeError from the server:', e)
else:
    raise AssertionError('a bad call did not raise TypeError')
assert c.get_value() == 1  # nothing changed

p = m.get_pair()
assert type(p) is PairProxy, type(p)
assert p.get_x() == 5
assert not hasattr(p, 'get_y'), 'get_y is not exposed'
print('typed counter', c.get_value(), 'pair.get_x', p.get_x())
print('OK', flush=True)
