# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot files a role persisted for a lab dom0, as the arguments of `xenlab.py reboot`.

    boot_files.py HOST_VARS_YML LAB_WORKDIR

reads the role variables that place dom0's boot files (xenfleet_systemd_unit_dir,
xenfleet_ifupdown_interfaces, xenfleet_sysctl_dir, xenfleet_brouter_sysctl_path,
xenfleet_routed.sysctl_path, the NAT networks' config_dir, xenfleet_xl_config_dir,
xenfleet_xl_conf_path, the directory of xenfleet_routed.hook_path) with {{ lab_workdir }} put in, and prints one argument
per line. A path that is not set, or that lies outside the lab's workdir, is an
error (exit 1): a lab boot reads only files the lab owns.
"""

import glob
import os
import sys

import yaml

# variable (dotted path into the host vars) -> reboot option; required ones must be set.
PATHS = (
    ('xenfleet_systemd_unit_dir', '--units', True),
    ('xenfleet_ifupdown_interfaces', '--interfaces', True),
    ('xenfleet_sysctl_dir', '--sysctl', True),
    ('xenfleet_brouter_sysctl_path', '--sysctl', False),
    ('xenfleet_routed.sysctl_path', '--sysctl', False),
    ('xenfleet_xl_config_dir', '--xl-dir', True),
    ('xenfleet_xl_conf_path', '--xl-conf', True),
)
NAT_CONFIG_DIRS = ('xenfleet_brouter_nat_options.config_dir', 'xenfleet_nat_options.config_dir')
# hooks Xen's vif scripts source once a vif is plugged: the directory of each (vif-post.d)
VIF_HOOKS = ('xenfleet_routed.hook_path',)


def lookup(data, dotted):
    for part in dotted.split('.'):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def resolve(value, workdir, name):
    path = str(value).replace('{{ lab_workdir }}', workdir)
    if '{{' in path or '{%' in path:
        raise ValueError('%s = %r: only {{ lab_workdir }} is understood here' % (name, value))
    real = os.path.realpath(path)
    if os.path.commonpath([real, os.path.realpath(workdir)]) != os.path.realpath(workdir):
        raise ValueError('%s = %s lies outside the lab workdir %s: a lab boot reads only the lab\'s files' % (name, path, workdir))
    return path


def arguments(host_vars, workdir):
    with open(host_vars, encoding='utf-8') as handle:
        data = yaml.safe_load(handle) or {}
    argv, problems = [], []
    for name, option, required in PATHS:
        value = lookup(data, name)
        if value is None:
            if required:
                problems.append('%s is not set in %s' % (name, host_vars))
            continue
        try:
            argv += [option, resolve(value, workdir, name)]
        except ValueError as error:
            problems.append(str(error))
    for name in VIF_HOOKS:
        value = lookup(data, name)
        if value is not None:
            try:
                argv += ['--vif-hooks', os.path.dirname(resolve(value, workdir, name))]
            except ValueError as error:
                problems.append(str(error))
    for name in NAT_CONFIG_DIRS:
        value = lookup(data, name)
        if value is None:
            continue
        try:
            directory = resolve(value, workdir, name)
        except ValueError as error:
            problems.append(str(error))
            continue
        for config in sorted(glob.glob(os.path.join(directory, '*.dnsmasq.conf'))):
            argv += ['--dnsmasq-conf', config]
    return argv, problems


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    found, problems = arguments(argv[1], argv[2])
    for problem in problems:
        sys.stderr.write('boot_files: %s\n' % problem)
    if problems:
        return 1
    for item in found:
        print(item)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
