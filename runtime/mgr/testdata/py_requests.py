# Prints, one hex line each, requests as CPython's proxies pickle them (ForkingPickler,
# the default protocol), for the fast request path's test.
from multiprocessing.reduction import ForkingPickler

get = 'get'
reqs = [
    ('1.2', 'get', (), {}),
    (None, 'incref', ('1.2',), {}),
    ('1.2', 'get', (get,), {}),  # the argument is the method name's very object: BINGET
    ('1.2', '__setitem__', ((1, 2), [1, 'x', b'y', 2.5, None, True]), {}),
    ('1.2', 'put', ({'k': (1, 2)}, True, None), {}),
    ('1.2', 'put', (2**70,), {}),
    ('1.2', 'update', (), {'a': 1}),  # keyword arguments: the general path
    (None, 'create', ('Namespace',), {'x': 1}),
    ('1.2', 'm', ('x' * 300,), {}),
]
for r in reqs:
    print(bytes(ForkingPickler.dumps(r)).hex())
