"""The emulated machine of the real-Xen lane: Xen and its dom0 under QEMU, reached over SSH.

QEMU runs with software emulation (no KVM needed) and one user-mode NIC with
restrict=on, so nothing leaves the emulated machine but the SSH port it
forwards to 127.0.0.1. Every wait is bounded and names its stage.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import time

# The hypervisor's and dom0's command lines; dom0 gets half the memory, the guests the rest.
XEN_ARGS = 'console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=2'
DOM0_ARGS = 'root=/dev/vda rw console=hvc0 net.ifnames=0'
# In the image (tests/realxen/dom0/): runs a command in a guest over its Xen console.
GUESTEXEC = '/usr/local/lib/xenfleet-realxen/guestexec.py'


class StageFailed(RuntimeError):
    """A stage did not finish within its limit, or the machine died."""


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def tail(path, lines=25):
    try:
        with open(path, errors='replace') as stream:
            return ''.join(stream.readlines()[-lines:])
    except OSError:
        return ''


class Machine:
    """One QEMU process booting the run directory's xen, vmlinuz, initrd.img and disk.img."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.port = free_port()
        self.serial_log = os.path.join(run_dir, 'serial.log')
        self.pid_file = os.path.join(run_dir, 'qemu.pid')
        self.control_path = os.path.join(run_dir, 'ssh-control')
        self.process = None

    def path(self, name):
        return os.path.join(self.run_dir, name)

    def qemu_command(self):
        return ['qemu-system-x86_64', '-M', 'pc', '-cpu', 'qemu64', '-m', '2048', '-smp', '2',
                # no -no-reboot: dom0's `systemctl reboot` restarts the same machine (Xen, dom0, the same disk)
                '-accel', 'tcg,thread=multi', '-display', 'none', '-monitor', 'none',
                '-serial', 'file:' + self.serial_log,
                '-nic', 'user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22' % self.port,
                '-kernel', self.path('xen'), '-append', XEN_ARGS,
                '-initrd', '%s %s,%s' % (self.path('vmlinuz'), DOM0_ARGS, self.path('initrd.img')),
                '-drive', 'file=%s,if=virtio,format=raw' % self.path('disk.img')]

    def start(self):
        with open(self.path('qemu.log'), 'w') as log:
            self.process = subprocess.Popen(self.qemu_command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        with open(self.pid_file, 'w') as stream:
            stream.write('%d\n' % self.process.pid)

    def stop(self):
        """End the SSH master and QEMU (both started here, ended by their own PIDs)."""
        if os.path.exists(self.control_path):
            subprocess.run(self.ssh_base() + ['-O', 'exit', 'root@127.0.0.1'], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20, check=False)
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.path.exists(self.pid_file):
            os.unlink(self.pid_file)

    def check_alive(self, stage):
        if self.process.poll() is not None:
            raise StageFailed('%s: QEMU exited with status %s; last lines of %s:\n%s' % (
                stage, self.process.returncode, self.serial_log, tail(self.serial_log)))

    def wait(self, stage, limit, probe, interval=2.0):
        """Poll probe() until it returns something true; fail naming the stage and the limit."""
        started = time.monotonic()
        while True:
            self.check_alive(stage)
            result = probe()
            if result:
                return time.monotonic() - started
            if time.monotonic() - started > limit:
                raise StageFailed('%s: not done within %d s; last lines of %s:\n%s' % (
                    stage, limit, self.serial_log, tail(self.serial_log)))
            time.sleep(interval)

    # ------------------------------------------------------------------ SSH

    def ssh_options(self):
        """The options every SSH connection to dom0 uses, Ansible's included: one shared master connection."""
        return ['-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no',
                '-o', 'UserKnownHostsFile=' + self.path('known_hosts'), '-o', 'LogLevel=ERROR',
                '-o', 'ControlMaster=auto', '-o', 'ControlPath=' + self.control_path, '-o', 'ControlPersist=1800',
                '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=12', '-o', 'ConnectTimeout=30']

    def ssh_base(self):
        return ['ssh', '-p', str(self.port), '-i', self.path('id_ed25519')] + self.ssh_options()

    def ssh(self, command, timeout=120, check=False):
        """Run a shell command on dom0 through the master connection."""
        completed = subprocess.run(self.ssh_base() + ['root@127.0.0.1', command], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                                   check=False)
        if check and completed.returncode != 0:
            raise StageFailed('on dom0, %r failed (exit %d):\n%s' % (command, completed.returncode, completed.stdout))
        return completed

    def ssh_answers(self):
        """One fresh connection (no master yet, so none is left holding our pipes)."""
        try:
            return subprocess.run(self.ssh_base() + ['-o', 'ControlMaster=no', 'root@127.0.0.1', 'true'],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=60, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def open_master(self):
        """The SSH connection every later command and every Ansible task rides; its PID."""
        subprocess.run(self.ssh_base() + ['-M', '-N', '-f', 'root@127.0.0.1'], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=True)
        return self.master_pid()

    def close_master(self):
        """End the master connection (its dom0 end may be gone already: a reboot)."""
        if os.path.exists(self.control_path):
            subprocess.run(self.ssh_base() + ['-O', 'exit', 'root@127.0.0.1'], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20, check=False)
        if os.path.exists(self.control_path):
            os.unlink(self.control_path)

    def boot_id(self):
        """dom0's boot id over a fresh connection (no master), or None while SSH does not answer."""
        try:
            completed = subprocess.run(self.ssh_base() + ['-o', 'ControlMaster=no', 'root@127.0.0.1',
                                                          'cat /proc/sys/kernel/random/boot_id'],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                       text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            return None
        return completed.stdout.strip() if completed.returncode == 0 and completed.stdout.strip() else None

    def reboot(self, limit):
        """`systemctl reboot` in dom0, inside the same QEMU; wait until SSH answers from the new boot (another boot
        id), then open a new master connection. (old boot id, new boot id, seconds from the reboot to SSH)."""
        old = self.boot_id()
        if old is None:
            raise StageFailed('reboot: dom0 does not answer SSH before the reboot')
        try:
            self.ssh('systemctl reboot', timeout=60)
        except subprocess.TimeoutExpired:
            pass  # the connection may hang while dom0 goes down
        started = time.monotonic()
        self.close_master()
        new = []

        def rebooted():
            found = self.boot_id()
            if found and found != old:
                new.append(found)
                return True
            return False
        self.wait('reboot: SSH on dom0 again, from a new boot', limit, rebooted, 2)
        seconds = time.monotonic() - started
        self.open_master()
        return old, new[0], seconds

    def master_pid(self):
        completed = subprocess.run(self.ssh_base() + ['-O', 'check', 'root@127.0.0.1'], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=20, check=False)
        found = re.search(r'pid=(\d+)', completed.stdout)
        return int(found.group(1)) if found else None

    # ---------------------------------------------------------------- guests

    def guest(self, name, command, timeout=60):
        """Run a shell command inside a running guest, over its Xen console; (status, output)."""
        completed = self.ssh('python3 %s %s %d %s' % (GUESTEXEC, name, timeout, shlex.quote(command)), timeout=timeout + 60)
        return completed.returncode, completed.stdout
