# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A TCP server that tells each client the source address it sees, and its client.

    python3 echo_peer.py serve PORT        # prints "listening on PORT", then one "peer=ADDRESS" per connection
    python3 echo_peer.py ask HOST PORT     # prints the server's answer, "peer=ADDRESS"; exit 1 on no answer
"""

from __future__ import absolute_import, division, print_function

import socket
import sys

TIMEOUT = 2.0


def serve(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('0.0.0.0', port))
    server.listen(16)
    print('listening on %d' % port, flush=True)
    while True:
        connection, peer = server.accept()
        line = 'peer=%s' % peer[0]
        print(line, flush=True)
        connection.sendall((line + '\n').encode('ascii'))
        connection.close()


def ask(host, port):
    try:
        connection = socket.create_connection((host, port), timeout=TIMEOUT)
        answer = connection.recv(100).decode('ascii').strip()
        connection.close()
    except OSError as error:
        print('no answer from %s:%d: %s' % (host, port, error))
        return 1
    print(answer)
    return 0


def main(argv):
    if argv[1:2] == ['serve']:
        serve(int(argv[2]))
        return 0
    if argv[1:2] == ['ask']:
        return ask(argv[2], int(argv[3]))
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
