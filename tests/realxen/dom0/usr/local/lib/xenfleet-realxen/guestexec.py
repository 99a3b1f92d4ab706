"""Run one shell command in a running guest of the real-Xen lane, over its Xen console.

    python3 /usr/local/lib/xenfleet-realxen/guestexec.py GUEST TIMEOUT COMMAND

The guests' /init keeps a non-interactive shell on hvc0. xenconsoled gives
each guest console a pty in dom0 (its path is in xenstore); this writes the
command there followed by an end marker carrying a fresh token and the exit
status, and prints what the guest answered until that marker. The exit status
is the command's, or 124 when the marker did not come within TIMEOUT seconds.
Only one caller may talk to a guest at a time.
"""

import os
import re
import select
import subprocess
import sys
import time
import tty
import uuid


def console_pty(guest):
    domid = subprocess.run(['xl', 'domid', guest], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return subprocess.run(['xenstore-read', '/local/domain/%s/console/tty' % domid], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def drain(fd):
    """Discard what the guest printed before this command (boot messages, earlier answers)."""
    while select.select([fd], [], [], 0.2)[0]:
        if not os.read(fd, 65536):
            break


def run(guest, timeout, command):
    fd = os.open(console_pty(guest), os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        drain(fd)
        token = uuid.uuid4().hex[:12]
        # the marker is split in the command so that it can only appear once the command has run
        line = '%s\necho "XF-END-""%s-$?"\n' % (command, token)
        os.write(fd, line.encode())
        marker = re.compile(r'XF-END-%s-(\d+)' % token)
        output = b''
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                output += os.read(fd, 65536)
                found = marker.search(output.decode(errors='replace'))
                if found:
                    text = output.decode(errors='replace')[:found.start()]
                    sys.stdout.write(text.replace('\r\n', '\n'))
                    return int(found.group(1))
        sys.stdout.write(output.decode(errors='replace').replace('\r\n', '\n'))
        sys.stderr.write('guestexec: no answer from %s within %s s\n' % (guest, timeout))
        return 124
    finally:
        os.close(fd)


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(run(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
