# Asks a manager to shut down, as BaseManager.shutdown does (a one-shot 'shutdown').
import os
import sys
from multiprocessing.connection import Client
from multiprocessing.managers import dispatch

host, port = sys.argv[1].rsplit(':', 1)
conn = Client((host, int(port)), authkey=bytes.fromhex(os.environ['MGR_AUTHKEY']))
dispatch(conn, None, 'shutdown')
print('OK', flush=True)
