"""crash.py LAB_WORKDIR: SIGKILL each writing module at random points of its work and prove the next run repairs.

For every case (cases.py) the module alternates between two declared states, A and B. A clean baseline
(A, B, A, B, each run twice) gives, per state, the kernel's state of the lab dom0 (dom0_state.py), the files under
the case's paths, and a timeline of the run's steps (module_server.py: its file writes, renames, removals, locks
and commands). Then, kill after kill, the module is sent towards the other state and its process group is
SIGKILLed: a third of the kills after a delay drawn uniformly over the whole run, a third over its focus (the work
under its locks; for xen_bridge the uplink move), a third right before one of its recorded steps (exact, from an
audit hook in the run; in each direction the first of these is a rename: the boot-file write). Then:
  - right after the kill, every file under the case's paths is whole: byte for byte what one of the two states
    holds (or absent, or a temporary file of the writer's, never the target name half-written);
  - the lock the killed run held is free;
  - the module, run again un-killed, succeeds (the repair; its plan is what it repaired), and a third run reports
    changed=false;
  - the kernel's state and the files equal the clean run's: no temporary file left, nothing half-made;
  - for xen_bridge, an SSH session into dom0 that stays open through every kill prints again within the
    module's connectivity timeout of the repair's start, and a new SSH connection works after the repair.

Environment: XENFLEET_CRASH_SEED (default: today's date, UTC), XENFLEET_CRASH_KILLS (per module, default 30),
XENFLEET_CRASH_MODULES (cases to run, default all), XENFLEET_CRASH_REPLAY=CASE:STATE:POINT (one kill of CASE
towards STATE, A or B, at POINT: seconds after the run started, or @N, right before its N-th recorded step; what a
failure prints to replay it).
"""

import collections
import datetime
import fcntl
import fnmatch
import hashlib
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'setup_xenlab'))

import dom0_state  # noqa: E402
import xenlab  # noqa: E402
from cases import CASES, prepare  # noqa: E402

LOCK_DIR = '/run/lock/xenfleet'
KILL_EVENTS = ('open', 'os.rename', 'os.replace', 'os.remove', 'os.unlink', 'os.rmdir', 'os.chmod', 'subprocess.Popen',
               'os.kill', 'os.truncate', 'fcntl.flock')
OTHER = {'A': 'B', 'B': 'A'}


class Server:
    """module_server.py inside dom0's namespace: one run at a time, killable."""

    def __init__(self, lab, modules, env):
        argv = ['ip', 'netns', 'exec', lab.ns('dom0'), sys.executable, os.path.join(HERE, 'module_server.py')] + modules
        self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
        if self.popen.stdout.readline().strip() != 'ready':
            raise RuntimeError('module_server.py did not start')

    def start(self, module, args_path, out_path, timeline_path=None, kill_at=None):
        self.popen.stdin.write('run %s %s %s %s %s\n' % (module, args_path, out_path, timeline_path or '-',
                                                         '-' if kill_at is None else kill_at))
        self.popen.stdin.flush()
        word, pid = self.popen.stdout.readline().split()
        assert word == 'pid', word
        return int(pid)

    def wait(self):
        word, pid, status, seconds = self.popen.stdout.readline().split()
        assert word == 'done', word
        return int(status), float(seconds)

    def close(self):
        self.popen.stdin.close()
        self.popen.wait(timeout=10)


class Ticker:
    """An SSH session into dom0, from upstream, that prints a line every 0.1 s for as long as it lives."""

    def __init__(self, lab):
        argv = lab.ssh_argv('while :; do echo tick; sleep 0.1; done')
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        self.ticks = collections.deque(maxlen=20000)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for _line in self.popen.stdout:
            self.ticks.append(time.monotonic())

    def tick_after(self, moment, timeout):
        """Seconds from moment to the first line after it, or None when none came within timeout."""
        deadline = moment + timeout
        while True:
            later = [tick for tick in list(self.ticks) if tick > moment]
            if later:
                return later[0] - moment if later[0] <= deadline else None
            if time.monotonic() > deadline or self.popen.poll() is not None:
                return None
            time.sleep(0.02)

    def close(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
        self.popen.wait(timeout=10)


def file_tree(roots, volatile=()):
    """path -> (mode, sha256) of every file under roots (a root may be a file); directories as 'dir'. Files whose
    name matches a pattern in volatile (a lock's holder record, a daemon's PID, a cache of kernel handles) count by name only."""
    tree = {}
    for root in roots:
        if os.path.isfile(root):
            tree[root] = _file_entry(root)
            continue
        for directory, subdirectories, files in os.walk(root):
            subdirectories.sort()
            for name in subdirectories:
                tree[os.path.join(directory, name)] = 'dir'
            for name in files:
                path = os.path.join(directory, name)
                tree[path] = 'present' if any(fnmatch.fnmatch(name, pattern) for pattern in volatile) else _file_entry(path)
    return tree


def _file_entry(path):
    info = os.lstat(path)
    if os.path.islink(path):
        return 'link -> %s' % os.readlink(path)
    with open(path, 'rb') as handle:
        return '%04o %s' % (info.st_mode & 0o7777, hashlib.sha256(handle.read()).hexdigest()[:16])


def tree_differences(expected, found):
    lines = []
    for path in sorted(set(expected) | set(found)):
        if path not in found:
            lines.append('file %s: gone' % path)
        elif path not in expected:
            lines.append('file %s: left behind (%s)' % (path, found[path]))
        elif expected[path] != found[path]:
            lines.append('file %s: %s, the clean run wrote %s' % (path, found[path], expected[path]))
    return lines


def half_written(before, after, found):
    """Files right after a kill that are neither the old state's, the new state's, nor a writer's temporary file."""
    lines = []
    for path, entry in sorted(found.items()):
        if entry in (before.get(path), after.get(path)):
            continue
        if os.path.basename(path).startswith('.') and path not in before and path not in after:
            continue  # a temporary file beside its target: the next run must remove it (checked after the repair)
        lines.append('file %s right after the kill: %s, neither state has that (%s / %s)' % (
            path, entry, before.get(path, 'absent'), after.get(path, 'absent')))
    return lines


def held_locks(pids, patience=2.0):
    """Lock files that name a killed run as holder and are still locked after patience seconds: a lock the kill did not
    release (the kernel drops a flock when the last process holding its file dies: a forked child of the run, killed
    with it, may take a moment more to go)."""
    deadline = time.monotonic() + patience
    while True:
        held = _held_locks(pids)
        if not held or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


def _held_locks(pids):
    held = []
    for name in sorted(os.listdir(LOCK_DIR)) if os.path.isdir(LOCK_DIR) else []:
        path = os.path.join(LOCK_DIR, name)
        try:
            with open(path) as handle:
                holder = json.loads(handle.read() or '{}')
                if holder.get('pid') not in pids:
                    continue
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(handle, fcntl.LOCK_UN)
                except OSError:
                    held.append('%s (holder %s)' % (path, holder))
        except (OSError, ValueError):
            continue
    return held


def draw_point(rng, timeline, focus, kind, renames_first):
    """Where to kill a run, from a clean run's timeline: a delay in seconds after its start (anywhere, or in its
    focus), or '@N', right before its N-th recorded event (a write, rename, removal, lock or command; a rename of a
    file first, while renames_first: the boot-file write). Returns (point, why)."""
    seconds, events = timeline['seconds'], timeline['events']
    if kind == 0 or not events:
        return rng.uniform(0, seconds), 'anywhere'
    if kind == 1:
        start, end = focus
        return rng.uniform(start, end), 'focus'
    chosen = [index for index, event in enumerate(events) if event[1] in KILL_EVENTS]
    renames = [index for index in chosen if events[index][1] in ('os.rename', 'os.replace')]
    index = rng.choice(renames if renames_first and renames else chosen or list(range(len(events))))
    return '@%d' % index, 'before %s %s' % (events[index][1], ' '.join(events[index][2])[:90])


def show(point):
    return point if isinstance(point, str) else '%.4f' % point


def describe(result):
    """What a run did, for the log: its plan, or what the modules without one return."""
    result = result or {}
    if result.get('plan'):
        return '; '.join(result['plan'])
    return ' '.join('%s=%s' % (key, json.dumps(result[key], sort_keys=True)) for key in ('vif', 'defaults', 'live', 'msg') if result.get(key))


def focus_window(timeline, until):
    """(start, end) of the work under the module's locks, ending at the first event matching until if given."""
    events = timeline['events']
    locks = [event[0] for event in events if event[1] == 'fcntl.flock']
    start, end = (locks[0], locks[-1]) if len(locks) >= 2 else (0.0, timeline['seconds'])
    if until:
        matches = [event[0] for event in events if event[1] == until[0] and until[1] in ' '.join(event[2]) and event[0] > start]
        end = matches[0] if matches else end
    return start, end


class Crash:
    def __init__(self, lab, seed, work):
        self.lab, self.seed, self.work = lab, seed, work
        self.namespace = lab.ns('dom0')
        self.failures = []
        self.rows = []

    # ------------------------------------------------------------ runs

    def run(self, case, state, timeline=False, kill_after=None, kill_at=None):
        """One run of the case's module towards state: (result or None, status, seconds, killed pid or None)."""
        name = case['name']
        args_path = os.path.join(self.work, '%s-%s.json' % (name, state))
        out_path = os.path.join(self.work, '%s.out' % name)
        timeline_path = os.path.join(self.work, '%s-%s.timeline' % (name, state)) if timeline else None
        pid = self.server.start(case['module'], args_path, out_path, timeline_path, kill_at)
        if kill_after is not None:
            time.sleep(kill_after)
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        status, seconds = self.server.wait()
        with open(out_path) as handle:
            output = handle.read()
        result = None
        for line in output.splitlines():
            if line.startswith('{'):
                try:
                    result = json.loads(line)
                except ValueError:
                    pass
        if status >= 0 and (result is None or result.get('failed')):
            result = dict(failed=True, msg=(result or {}).get('msg') or output[-2000:])
        return result, status, seconds, (pid if status == -signal.SIGKILL else None)

    def state(self, case):
        return dom0_state.snapshot(self.namespace), file_tree(case['paths'], case.get('volatile', ()))

    def differences(self, case, state, reference):
        kernel, files = self.state(case)
        lines, _notes = dom0_state.compare(reference[0], kernel, case.get('aspects'))
        return lines + tree_differences(reference[1], files)

    # ------------------------------------------------------------ one case

    def baseline(self, case):
        """Both states' kernel, files and timelines, from clean runs; (None, None) when the module itself does not converge."""
        references, timelines = {}, {}
        for round_ in range(2):
            for state in ('A', 'B'):
                result, status, seconds, _pid = self.run(case, state, timeline=round_ == 1)
                rerun, _status, _seconds, _pid = self.run(case, state)
                if result is None or result.get('failed') or rerun is None or rerun.get('failed') or rerun.get('changed'):
                    self.fail(case, 'the clean run towards %s did not converge: %s / rerun %s' % (state, result, rerun), state)
                    return None, None
                if round_ == 1:
                    references[state] = self.state(case)
                    with open(os.path.join(self.work, '%s-%s.timeline' % (case['name'], state))) as handle:
                        timelines[state] = json.load(handle)
                    print('  clean run towards %s: %.3f s, %d writes and commands; plan: %s' % (
                        state, seconds, len(timelines[state]['events']), describe(result)[:300]))
        return references, timelines

    def fail(self, case, message, state=None, point=None, kept=False):
        replay = ' [a kept case: XENFLEET_CRASH_MODULES=%s XENFLEET_CRASH_KILLS=0 runs it alone]' % case['name'] if kept else ''
        if point is not None:
            replay = ' [replay: XENFLEET_CRASH_SEED=%s XENFLEET_CRASH_REPLAY=%s:%s:%s]' % (self.seed, case['name'], state, show(point))
        print('  FAIL %s: %s%s' % (case['name'], message, replay))
        self.failures.append(('%s: %s' % (case['name'], message), replay))

    def kill_once(self, case, target, point, how, references, stats, ticker, left=None):
        """One kill towards target and the checks after it; left (shell lines) instead of a run puts dom0 in the
        state a kill once left (a kept case, deterministic). True when every check passed."""
        name = case['name']
        source = OTHER[target]
        killed_at = time.monotonic()
        if left:
            for line in left:
                self.lab.run('dom0', shlex.split(line))
            result, status, pid = None, None, 0
        else:
            at_event = isinstance(point, str)
            result, status, _seconds, pid = self.run(case, target, kill_after=None if at_event else point,
                                                     kill_at=int(point[1:]) if at_event else None)
        problems = []
        if pid is None:
            stats['missed'] += 1
            outcome = 'changed' if result and result.get('changed') else 'exit %s' % status
            print('  %-15s towards %s at %s (%s): finished first (%s)' % (name, target, show(point), how, outcome))
        else:
            stats['kills'] += 1
            files = file_tree(case['paths'], case.get('volatile', ()))
            problems += half_written(references[source][1], references[target][1], files)
            problems += ['lock still held after the kill: %s' % lock for lock in held_locks({pid})]
            # Where the kill landed: files neither state's (some written, some not, or a temporary file), the kernel
            # in neither state (half-way through the change: for xen_bridge, the uplink move).
            if files not in (references[source][1], references[target][1]):
                stats['mid_files'] += 1
            kernel = dom0_state.snapshot(self.namespace)
            if all(dom0_state.compare(references[state][0], kernel, case.get('aspects'))[0] for state in (source, target)):
                stats['mid_kernel'] += 1
        after_kill = self.lab.run('dom0', ['sh', '-c', 'ip -br addr; ip route; ip -6 route | grep -v ^fe80; ip -br link'], check=False).stdout \
            if pid is not None else ''
        reachable_before = None
        if ticker and pid is not None:
            probe = [word if word != 'ConnectTimeout=5' else 'ConnectTimeout=2' for word in self.lab.ssh_argv(['true'])]
            reachable_before = subprocess.run(probe, capture_output=True, check=False, timeout=15).returncode == 0
        started = time.monotonic()
        repair, _status, repair_seconds, _pid = self.run(case, target)
        if repair is None or repair.get('failed'):
            problems.append('the run after the kill failed: %s' % (repair or {}).get('msg', repair))
        elif pid is not None:
            stats['max_repair'] = max(stats['max_repair'], repair_seconds)
            if repair.get('changed'):
                stats['repaired'] += 1
        converge, _status, _seconds, _pid = self.run(case, target)
        if converge is None or converge.get('failed') or converge.get('changed'):
            problems.append('the third run did not report changed=false: %s' % describe(converge))
        problems += self.differences(case, target, references[target])
        if ticker:
            # The session may stall while the kill left dom0's address on a dead link (until the repair, which a
            # playbook's retry would run at once); TCP's retransmission then brings it back.
            gap = ticker.tick_after(started, case['connectivity_timeout'])
            if gap is None:
                problems.append('the SSH session into dom0 printed nothing within %s s of the repair\'s start' % case['connectivity_timeout'])
            else:
                stats['max_ssh_gap'] = max(stats['max_ssh_gap'], gap)
                stats['max_ssh_silence'] = max(stats['max_ssh_silence'], ticker.tick_after(killed_at, 3600) or 0.0)
            if self.lab.ssh(['true'], check=False, timeout=15).returncode != 0:
                problems.append('a new SSH connection to dom0 fails after the repair')
            if reachable_before is False:
                stats['unreachable_until_repair'] += 1
        if pid is not None:
            print('  %-15s towards %s at %s (%s): killed; repair %.3f s %s%s' % (
                name, target, show(point), how, repair_seconds, 'changed: ' if repair and repair.get('changed') else 'unchanged: ',
                describe(repair)[:240]))
        for problem in problems:
            self.fail(case, problem, target, None if left else point, kept=bool(left))
        if problems and after_kill:
            print('  dom0 right after the kill:\n' + ''.join('    | %s\n' % line for line in after_kill.splitlines()))
        return not problems

    def run_case(self, case, kills, replay):
        name = case['name']
        print('== %s (%s)' % (name, case['module']))
        began = time.monotonic()
        references, timelines = self.baseline(case)
        stats = dict(kills=0, missed=0, mid_files=0, mid_kernel=0, repaired=0, max_repair=0.0, max_ssh_gap=0.0,
                     max_ssh_silence=0.0, unreachable_until_repair=0)
        if references is None:
            self.rows.append((name, stats, time.monotonic() - began))
            return
        focus = {state: focus_window(timelines[state], case.get('focus_until')) for state in timelines}
        print('  focus: %s' % ', '.join('towards %s %.4f-%.4f s' % (state, start, end) for state, (start, end) in sorted(focus.items())))
        ticker = Ticker(self.lab) if case.get('ssh') else None
        try:
            if ticker and ticker.tick_after(time.monotonic(), 10) is None:
                self.fail(case, 'the SSH session into dom0 did not start')
                return
            rng = random.Random('%s-%s' % (self.seed, name))
            current = 'B'  # where the baseline left it
            for target, why, left in case.get('kept', ()):
                if current == target:
                    self.run(case, OTHER[target])
                    current = OTHER[target]
                print('  %-15s towards %s: the state a kill left (%s)' % (name, target, why))
                current = target
                if not self.kill_once(case, target, 0.0, why, references, stats, ticker, left=left):
                    self.recover(case)
                    current = 'B'
            if replay:
                target, point = replay
                if current == target:
                    self.run(case, OTHER[target])
                    current = OTHER[target]
                self.kill_once(case, target, point, 'replay', references, stats, ticker)
            attempt, renamed = 0, set()
            while not replay and stats['kills'] < kills and attempt < 3 * kills:
                target = OTHER[current]
                point, how = draw_point(rng, timelines[target], focus[target], attempt % 3, target not in renamed)
                if how.startswith('before os.re'):
                    renamed.add(target)
                attempt += 1
                current = target
                if not self.kill_once(case, target, point, how, references, stats, ticker):
                    self.recover(case)
                    current = 'B'

        finally:
            if ticker:
                ticker.close()
            for args in case.get('final', ()):
                self.write_args(case, 'final', args)
                result, _status, _seconds, _pid = self.run(case, 'final')
                if result is None or result.get('failed'):
                    self.fail(case, 'the final clean-up run failed: %s' % result)
        self.rows.append((name, stats, time.monotonic() - began))

    def recover(self, case):
        """Back on its feet after a failed kill (state B, and what the failure lost put back), so the next kills
        test something."""
        self.run(case, 'B')
        for line in case.get('reset', ()):
            self.lab.run('dom0', shlex.split(line))
        self.run(case, 'B')

    def write_args(self, case, state, args):
        with open(os.path.join(self.work, '%s-%s.json' % (case['name'], state)), 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': dict(args, lock_timeout=5)}, handle)

    # ------------------------------------------------------------ all of it

    def main(self, cases, kills, replay, env):
        modules = sorted({case['module'] for case in cases})
        self.server = Server(self.lab, modules, env)
        try:
            for case in cases:
                prepare(self.lab, case)
                for state in ('A', 'B'):
                    self.write_args(case, state, case[state])
                self.run_case(case, kills, replay[1:] if replay and replay[0] == case['name'] else None)
        finally:
            self.server.close()
        print()
        print('kills: SIGKILLs that landed (missed: the run ended first); mid-files, mid-kernel: kills that left the files or the\n'
              'kernel in neither state; repaired: repairs that reported changed; max ssh gap: longest silence of the SSH session\n'
              'after a repair started')
        columns = ('module', 'kills', 'missed', 'mid-files', 'mid-kernel', 'repaired', 'max repair', 'max ssh gap', 'seconds')
        print('%-16s %6s %7s %10s %11s %9s %11s %12s %9s' % columns)
        for name, stats, seconds in self.rows:
            print('%-16s %6d %7d %10d %11d %9d %10.3fs %12s %8.1fs' % (
                name, stats['kills'], stats['missed'], stats['mid_files'], stats['mid_kernel'], stats['repaired'],
                stats['max_repair'], '%.2fs' % stats['max_ssh_gap'] if name == 'xen_bridge' else '-', seconds))
            if name == 'xen_bridge':
                print('  (xen_bridge: the SSH session printed again at most %.2f s after a repair started, %.2f s after a kill; '
                      'dom0 refused new SSH connections between the kill and the repair %d times)' % (
                          stats['max_ssh_gap'], stats['max_ssh_silence'], stats['unreachable_until_repair']))
        for name, stats, _seconds in self.rows:
            if stats['kills'] < kills and not replay:
                self.failures.append(('%s: only %d kills landed (%d wanted)' % (name, stats['kills'], kills), ''))
        print('seed %s; %d failed checks' % (self.seed, len(self.failures)))
        # one line per distinct failure, with how often it came and the first replay of it
        counts = collections.Counter(message for message, _replay in self.failures)
        first = {}
        for message, replay in self.failures:
            first.setdefault(message, replay)
        for message in counts:
            line = '%s (%d times)%s' % (message, counts[message], first[message])
            print('FAILED ' + line)
        return 1 if self.failures else 0


def main(argv):
    workdir = argv[1]
    seed = os.environ.get('XENFLEET_CRASH_SEED') or datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d')
    kills = int(os.environ.get('XENFLEET_CRASH_KILLS') or 30)
    wanted = (os.environ.get('XENFLEET_CRASH_MODULES') or '').split()
    replay = None
    if os.environ.get('XENFLEET_CRASH_REPLAY'):
        case_name, state, point = os.environ['XENFLEET_CRASH_REPLAY'].split(':')
        replay = (case_name, state, point if point.startswith('@') else float(point))
        wanted = [case_name]
    print('xen_crash: seed %s (XENFLEET_CRASH_SEED=%s replays this run), %d kills per module' % (seed, seed, kills))
    lab = xenlab.Lab.attach(workdir)
    cases = [case(lab.workdir) for case in CASES]
    unknown = set(wanted) - {case['name'] for case in cases}
    if unknown:
        sys.exit('unknown cases: %s' % ' '.join(sorted(unknown)))
    cases = [case for case in cases if not wanted or case['name'] in wanted]
    work = os.path.join(lab.workdir, 'crash')
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, PATH='%s:%s' % (os.path.join(lab.workdir, 'fake_xl'), os.environ.get('PATH', '')))
    started = time.monotonic()
    status = Crash(lab, seed, work).main(cases, kills, replay, env)
    print('xen_crash: %.1f s' % (time.monotonic() - started))
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv))
