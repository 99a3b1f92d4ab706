"""ssh's ProxyCommand for the demo: relay stdin/stdout to HOST PORT.

Every lab dom0 answers SSH at the same address (192.0.2.10) inside its own
lab, so one ansible-playbook reaches the three of them by starting this relay
in each lab's upstream namespace (ip netns exec <lab>-upstream python3 ssh_proxy.py
192.0.2.10 22): the TCP connection is made there and nowhere else.
"""

import os
import selectors
import socket
import sys


def relay(host, port):
    connection = socket.create_connection((host, port), timeout=10)
    connection.settimeout(None)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, 'stdin')
    selector.register(connection, selectors.EVENT_READ, 'socket')
    while True:
        for key, _events in selector.select():
            if key.data == 'stdin':
                data = os.read(sys.stdin.fileno(), 65536)
                if not data:
                    connection.shutdown(socket.SHUT_WR)
                    selector.unregister(sys.stdin.fileno())
                    continue
                connection.sendall(data)
            else:
                data = connection.recv(65536)
                if not data:
                    return
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()


if __name__ == '__main__':
    relay(sys.argv[1], int(sys.argv[2]))
