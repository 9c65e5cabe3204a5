# A CPython peer for the handshake tests: a Listener (server side: deliver, then answer)
# or a Client (answer, then deliver), both with the key given in hex. After the handshake
# it echoes one frame back, upper-cased, and exits 0; an AuthenticationError exits 3.
import sys
from multiprocessing import connection
from multiprocessing import AuthenticationError

role, family, address, key = sys.argv[1], sys.argv[2], sys.argv[3], bytes.fromhex(sys.argv[4])
if family == 'tcp':
    host, port = address.rsplit(':', 1)
    address = (host, int(port))
try:
    if role == 'listen':
        with connection.Listener(address, authkey=key) as ln:
            print('ready', flush=True)
            conn = ln.accept()
    else:
        conn = connection.Client(address, authkey=key)
    msg = conn.recv_bytes()
    conn.send_bytes(msg.upper())
    conn.close()
except AuthenticationError as e:
    print('auth:', e, file=sys.stderr)
    sys.exit(3)
