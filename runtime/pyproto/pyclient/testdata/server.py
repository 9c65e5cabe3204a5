"""A CPython manager for pyclient's tests: SyncManager's typeids plus a Box typeid
(whose make_box method returns a new shared Box, as '#PROXY'), served with
get_server().serve_forever().

  python3 server.py tcp|unix ADDRESS AUTHKEY_HEX

For tcp, ADDRESS is the host (the port is chosen); for unix, the socket path. Prints the
address served as JSON on one line, then serves until a client sends shutdown.
"""
import json
import queue
import sys
from multiprocessing.managers import SyncManager

# The classes client.py sends: the server unpickles what clients put in its queues, so
# it must know them (a Go manager would not need to).
from values import Point, Key, CustomError  # noqa: F401  (testdata/values.py)


class Box:
    def __init__(self, value=None):
        self.value = value

    def get(self):
        return self.value

    def set(self, value):
        self.value = value

    def make_box(self, value):
        return Box(value)

    def fail(self):
        raise ValueError('boom', 42)

    def fail_custom(self):
        raise CustomError('mine', 7)

    def __repr__(self):
        return 'Box(%r)' % (self.value,)


class Manager(SyncManager):
    pass


BOX_METHODS = ('get', 'set', 'make_box', 'fail', 'fail_custom')
Manager.register('Box', Box, exposed=BOX_METHODS, method_to_typeid={'make_box': 'BoxResult'})
# A method's result is registered under a typeid without callable (as SyncManager's
# 'Iterator'): with one, the server would wrap the result in a new Box.
Manager.register('BoxResult', exposed=BOX_METHODS, method_to_typeid={'make_box': 'BoxResult'},
                 create_method=False)


QUEUES = {}


def shared_queue(name):
    """One queue per name, shared by every client that asks for it."""
    return QUEUES.setdefault(name, queue.Queue())


Manager.register('shared_queue', shared_queue)


def main():
    family, addr, key = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
    address = (addr, 0) if family == 'tcp' else addr
    server = Manager(address=address, authkey=key).get_server()
    print(json.dumps(server.address), flush=True)
    server.serve_forever()


main()
