# xenfleet.network: offline stand-in for ansible-test's get-pip.py
"""Bootstrap pip into an empty virtual environment without get-pip.py.

Why this exists: every ansible-test sanity test with Python requirements runs
in a virtual environment of its own (~/.ansible/test/venv/sanity.NAME/...).
ansible-test creates it without pip and then runs a pinned get-pip.py that it
downloads from ci-files.testing.ansible.com, a host our machines and CI cannot
reach. It looks for a cached copy first, at
~/.ansible/test/cache/get_pip_<version>.py; scripts/setup.sh copies this file
there, so the download never happens.

It is invoked as get-pip.py would be (by ansible-test's quiet_pip.py, with
the new environment's interpreter as sys.executable):

    python get_pip_24_2.py --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

and does the same thing from sources we do have: ensurepip installs the pip
wheel bundled with the interpreter (no network), then that pip installs the
exact pip release requested from the package index, and setuptools/wheel are
removed again when get-pip would not have installed them.
"""

import subprocess
import sys

# get-pip.py's own options; everything else is handed to `pip install`.
GET_PIP_OPTIONS = {'--no-setuptools': 'setuptools', '--no-wheel': 'wheel'}


def run(*args):
    """Run the new environment's Python; show its output only if it fails."""
    proc = subprocess.run((sys.executable,) + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stdout.decode('utf-8', 'replace'))
        sys.exit(proc.returncode)


def main():
    unwanted = [GET_PIP_OPTIONS[arg] for arg in sys.argv[1:] if arg in GET_PIP_OPTIONS]
    pip_args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_OPTIONS]

    run('-m', 'ensurepip', '--default-pip')
    run('-m', 'pip', 'install', '--upgrade', *pip_args)

    if unwanted:
        # ensurepip on Python < 3.12 also installs setuptools; get-pip would not have
        run('-m', 'pip', 'uninstall', '--yes', '--quiet', *unwanted)


if __name__ == '__main__':
    main()
