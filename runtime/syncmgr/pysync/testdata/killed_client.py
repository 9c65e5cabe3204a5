# Creates shared objects on a Go manager, holds them, says "ready" and waits to be killed.
import sys
import time
from multiprocessing.managers import SyncManager

m = SyncManager(sys.argv[1], bytes.fromhex(sys.argv[2]))
m.connect()
held = [m.dict({'a': 1}), m.list([1, 2]), m.Queue(), m.Lock(), m.Namespace(x=1)]
held[2].put('item')
held[0]['b'] = 2
print('ready', m._number_of_objects(), flush=True)
time.sleep(3600)
