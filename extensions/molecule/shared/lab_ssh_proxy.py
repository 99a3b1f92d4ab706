# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh ProxyCommand: reach a lab dom0's sshd from the lab's upstream namespace.

Molecule runs Ansible in the root namespace, which has no route to the lab
(and must get none). ssh hands this script its connection on stdin/stdout;
the script re-executes itself inside the lab's upstream namespace and relays
to dom0's sshd there, so the TCP connection exists only inside the lab.

Usage: lab_ssh_proxy.py LAB_WORKDIR
"""

import json
import os
import selectors
import socket
import sys


def relay(host, port):
    sock = socket.create_connection((host, port), timeout=10)
    sock.settimeout(None)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.buffer, selectors.EVENT_READ)
    selector.register(sock, selectors.EVENT_READ)
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
    while True:
        for key, _events in selector.select():
            if key.fileobj is sock:
                data = sock.recv(65536)
                if not data:
                    return
                os.write(stdout, data)
            else:
                data = os.read(stdin, 65536)
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    selector.unregister(sys.stdin.buffer)
                    continue
                sock.sendall(data)


def main(argv):
    if argv[1] == '--relay':
        relay(argv[2], int(argv[3]))
        return
    with open(os.path.join(argv[1], 'state.json')) as handle:
        state = json.load(handle)
    ssh = state['ssh']
    namespace = state['namespaces'][ssh['from_role']]
    os.execvp('ip', ['ip', 'netns', 'exec', namespace, sys.executable, os.path.abspath(__file__),
                     '--relay', ssh['host'], str(ssh['port'])])


if __name__ == '__main__':
    main(sys.argv)
