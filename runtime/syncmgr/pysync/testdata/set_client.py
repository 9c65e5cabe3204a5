# Python 3.14's SyncManager 'set' typeid, from a client of an earlier Python: the proxy
# class is written as 3.14's managers.py writes SetProxy (MakeProxyType over the exposed
# names, and __ior__ & co. returning the proxy itself), registered on a SyncManager
# subclass. Usage: set_client.py ADDRESS KEYHEX. Prints OK.
import sys
from multiprocessing.managers import MakeProxyType, SyncManager

_BaseSetProxy = MakeProxyType("_BaseSetProxy", (
    '__and__', '__class_getitem__', '__contains__', '__iand__', '__ior__',
    '__isub__', '__iter__', '__ixor__', '__len__', '__or__', '__rand__',
    '__ror__', '__rsub__', '__rxor__', '__sub__', '__xor__',
    '__ge__', '__gt__', '__le__', '__lt__',
    'add', 'clear', 'copy', 'difference', 'difference_update', 'discard',
    'intersection', 'intersection_update', 'isdisjoint', 'issubset',
    'issuperset', 'pop', 'remove', 'symmetric_difference',
    'symmetric_difference_update', 'union', 'update',
))


class SetProxy(_BaseSetProxy):
    def __ior__(self, value):
        self._callmethod('__ior__', (value,))
        return self

    def __iand__(self, value):
        self._callmethod('__iand__', (value,))
        return self

    def __ixor__(self, value):
        self._callmethod('__ixor__', (value,))
        return self

    def __isub__(self, value):
        self._callmethod('__isub__', (value,))
        return self


class Manager(SyncManager):
    pass


Manager.register('set', set, SetProxy)

m = Manager(address=sys.argv[1], authkey=bytes.fromhex(sys.argv[2]))
m.connect()

s = m.set([1, 2, 3])
assert len(s) == 3 and 2 in s and 5 not in s
s.add(4)
s.discard(9)
s.remove(1)
try:
    s.remove(1)
    raise AssertionError('remove of a missing element did not raise')
except KeyError:
    pass
assert sorted(s) == [2, 3, 4], sorted(s)
assert s.copy() == {2, 3, 4}
assert s | {5} == {2, 3, 4, 5} and s & {3, 9} == {3} and s - {2} == {3, 4} and s ^ {4, 7} == {2, 3, 7}
assert s.union([5], (6,)) == {2, 3, 4, 5, 6} and s.intersection([2, 3], {3}) == {3}
assert s.difference([2]) == {3, 4} and s.symmetric_difference([4, 8]) == {2, 3, 8}
assert s <= {2, 3, 4} and s < {2, 3, 4, 5} and s >= {2} and s > {2} and not s > {2, 3, 4}
assert s.issubset([2, 3, 4, 5]) and s.issuperset((2, 3)) and s.isdisjoint({9})
t = s
s |= {10}
assert s is t and 10 in s
s &= {2, 3, 10}
s -= {3}
s ^= {2, 11}
assert s.copy() == {10, 11}, s.copy()
s.update([20], {21})
s.intersection_update([10, 20, 21])
s.difference_update({21})
s.symmetric_difference_update({10, 30})
assert s.copy() == {20, 30}, s.copy()
x = s.pop()
assert x in (20, 30) and len(s) == 1
s.clear()
assert len(s) == 0
try:
    s.pop()
    raise AssertionError('pop of an empty set did not raise')
except KeyError:
    pass
try:
    s.add([1])
    raise AssertionError('an unhashable element was taken')
except TypeError:
    pass
try:
    s | [1]
    raise AssertionError('set | list did not raise')
except TypeError:
    pass

# 3.14's additions to list and dict proxies, called by name as 3.14's proxies call them.
l = m.list([1, 2])
assert l._callmethod('copy') == [1, 2]
l._callmethod('clear')
assert len(l) == 0
d = m.dict({'a': 1, 'b': 2})
assert d._callmethod('__or__', ({'c': 3},)) == {'a': 1, 'b': 2, 'c': 3}
assert d._callmethod('__ror__', ({'a': 0, 'z': 9},)) == {'a': 1, 'z': 9, 'b': 2}
d._callmethod('__ior__', ({'b': 20},))
assert d['b'] == 20
assert list(d._callmethod('__reversed__')) == ['b', 'a']
assert d._callmethod('fromkeys', (['x', 'y'], 0)) == {'x': 0, 'y': 0} and len(d) == 2
print('OK')
