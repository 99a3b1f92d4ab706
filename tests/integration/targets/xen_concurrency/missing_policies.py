"""missing_policies.py PERSIST_FILE VIF...: run in the lab dom0's namespace. Read xen_antispoof's tables
from the kernel with the collection's own backend and print the vifs expected but without a policy there
or in the boot-time file (nothing when all are there); then delete the tables and the file for the
next round."""
import subprocess
import sys

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import nft as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.nft_backend import NftBackend
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, remove_file


def run(argv, data=None, binary_data=False):
    done = subprocess.run(argv, input=data, capture_output=True, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


persist_path, expected = sys.argv[1], sys.argv[2:]
backend = NftBackend(run).read_kernel()
in_kernel = render.vifs_of(backend.current_policy())['bridge']
persisted = (read_bytes(persist_path) or b'').decode()
problems = ['%s: no policy in the kernel' % name for name in expected if name not in in_kernel]
problems += ['%s: not in %s' % (name, persist_path) for name in expected if '"%s"' % name not in persisted]
if sorted(in_kernel) != sorted(expected):
    problems.append('the kernel has policies for %s' % ' '.join(in_kernel))
run(['nft', '-f', '-'], render.delete_script([family for family in render.FAMILIES if backend.tables.get(family) is not None]).encode())
remove_file(persist_path)
if problems:
    print('; '.join(problems))
    sys.exit(1)
