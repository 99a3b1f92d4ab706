"""module_server.py MODULE...: run collection modules on request, forked from a process that imported them once.

Started inside the lab dom0's namespace (ip netns exec), so each module run sees that dom0's network and costs
what the module's own work costs: Python's start-up and the imports, which change nothing on the host, are paid
once here, and a kill delay drawn over a run's duration lands in the module's work, not in its imports.

Protocol, one line each way per run, on stdin/stdout:
    run MODULE ARGS_JSON OUT_FILE TIMELINE_FILE|- KILL_AT|-  ->  pid PID     (the run started, in a process group of its own)
                                                         ->  done PID STATUS SECONDS
The run's stdout (the module's JSON result) and stderr go to OUT_FILE. STATUS is the wait status's exit code,
or -SIGNAL when it was killed. With TIMELINE_FILE, the run also writes what it did when (the audit events of its
writes, renames, removals, locks, sockets and subprocesses, in seconds from its start): the driver aims kills
there. With KILL_AT (a number), the run SIGKILLs its own process group right before its KILL_AT-th such event
(counted from 0, as listed in the timeline of a run from the same state): a kill at an exact step.
"""

import importlib
import json
import os
import runpy
import signal
import sys
import time

PACKAGE = 'ansible_collections.xenfleet.network.plugins.modules.'
# The audit events that change something, or wait on something that does (a netlink message, a command).
EVENTS = ('open', 'os.rename', 'os.replace', 'os.remove', 'os.unlink', 'os.rmdir', 'os.mkdir', 'os.chmod', 'os.chown',
          'os.truncate', 'os.symlink', 'os.link', 'subprocess.Popen', 'os.kill', 'socket.__new__', 'socket.sendto',
          'socket.sendmsg', 'socket.bind', 'fcntl.flock')
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _timeline_hook(timeline, started, kill_at, recording):
    def hook(event, args):
        if event not in EVENTS or not recording:
            return
        if event == 'open':
            path, mode, flags = args
            # reads change nothing; /proc/sys writes (sysctls) and file writes do
            writes = bool(set(mode) & set('wax+')) if isinstance(mode, str) else bool(flags & WRITE_FLAGS)
            if not isinstance(path, str) or not writes:
                return
            args = (path,)
        elif event == 'subprocess.Popen':
            args = (args[1][:3] if isinstance(args[1], (list, tuple)) else args[1],)
        if len(timeline) == kill_at:
            # audit hooks run before the operation: killed right before this write, rename, removal or command
            os.killpg(0, signal.SIGKILL)
        timeline.append((round(time.monotonic() - started, 5), event, [str(arg)[:120] for arg in args]))
    return hook


def _child(module, args_path, out_path, timeline_path, kill_at):
    os.setpgid(0, 0)
    descriptor = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    timeline, started, recording = [], time.monotonic(), [True]
    sys.addaudithook(_timeline_hook(timeline, started, kill_at, recording))
    from ansible.module_utils import basic
    basic._ANSIBLE_ARGS = None
    sys.argv = [module, args_path]
    status = 0
    try:
        runpy.run_module(PACKAGE + module, run_name='__main__', alter_sys=True)
    except SystemExit as done:
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: B902 -- a traceback is a result the driver reports
        import traceback
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    recording.clear()  # the module is done: nothing more to record or kill
    if timeline_path:
        with open(timeline_path, 'w') as handle:
            json.dump({'seconds': time.monotonic() - started, 'events': timeline}, handle)
    os._exit(status)


def main(modules):
    for module in modules:
        importlib.import_module(PACKAGE + module)
    print('ready', flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != 'run':
            continue
        module, args_path, out_path, timeline_path, kill_at = words[1:6]
        timeline_path = None if timeline_path == '-' else timeline_path
        kill_at = None if kill_at == '-' else int(kill_at)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(module, args_path, out_path, timeline_path, kill_at)
        print('pid %d' % pid, flush=True)
        _pid, wait_status = os.waitpid(pid, 0)
        status = -os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else os.WEXITSTATUS(wait_status)
        print('done %d %d %.4f' % (pid, status, time.monotonic() - started), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
