# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host_vars file of an adopted dom0, written through a YAML dumper (playbooks/adopt.yml).

Documentation: adopted_host_vars_file.yml beside this file.

Everything in it was read from the dom0, so nothing is pasted into YAML
text: the variables go through yaml's safe dumper and every comment line
is escaped, since YAML ends a comment at \\r, \\n, NEL, U+2028 and U+2029
as well, and the next line would be read as a key of the inventory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible.errors import AnsibleFilterError


def comment_text(text):
    """text as one comment line: every character Python does not print (line breaks, control and format
    characters, separators other than the space) as a \\u escape."""
    return ''.join(character if character.isprintable() else
                   ('\\u%04x' % ord(character) if ord(character) <= 0xffff else '\\U%08x' % ord(character))
                   for character in str(text))


def plain(value, where='host_vars'):
    """value as the plain types yaml's safe dumper writes (Ansible hands its own str, dict and list subclasses)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return dict((plain(key, where), plain(item, '%s.%s' % (where, key))) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(item, '%s[%d]' % (where, index)) for index, item in enumerate(value)]
    raise AnsibleFilterError('adopted_host_vars_file: %s is a %s, which a host_vars file cannot hold' % (where, type(value).__name__))


def _header(adopted, host):
    xl_conf = adopted.get('xl_conf') or {}
    xend = adopted.get('xend_config') or {}
    topology = adopted.get('topology') or {}
    uplink = adopted.get('uplink') or {}
    lines = [
        'Adopted by xenfleet.network.adopt from dom0 %s (xenfleet.network.xen_dom0_info).' % host,
        'Guests from %s; xl.conf: %s; xend-config.sxp: %s.' % (
            adopted['host_vars'].get('xenfleet_xl_config_dir'), xl_conf.get('path') or 'not read',
            (xend.get('path') or 'not read') if xend.get('present') else 'none'),
        'Topology: %s: %s' % (topology.get('name') or 'not recognised', topology.get('reason')),
        'Uplink: %s: %s' % (uplink.get('name') or 'not found', uplink.get('reason')),
    ]
    unexpressed = adopted.get('unexpressed') or []
    if unexpressed:
        lines.append('Not expressed by the inventory model (%d): site.yml changes these or leaves them alone.' % len(unexpressed))
        lines.extend('  - %s: %s' % (item.get('what'), item.get('why')) for item in unexpressed)
    else:
        lines.append('Everything found is expressed below.')
    return ''.join('# %s\n' % comment_text(line) for line in lines)


def adopted_host_vars_file(adopted, host):
    """The file's text: a header of comments, then the host_vars as YAML that loads back to exactly them."""
    if not isinstance(adopted, dict) or not isinstance(adopted.get('host_vars'), dict):
        raise AnsibleFilterError('adopted_host_vars_file: expects the result of xenfleet.network.xen_dom0_info')
    data = plain(adopted['host_vars'])
    body = yaml.safe_dump(data, default_flow_style=False, sort_keys=False, indent=2, width=120, allow_unicode=False)
    text = '---\n' + _header(adopted, host) + body
    # The writer proves its own output: whatever it was given, the file reads back as these variables only.
    if yaml.safe_load(text) != data:
        raise AnsibleFilterError('adopted_host_vars_file: the written YAML does not read back as the host_vars')
    return text


class FilterModule(object):
    def filters(self):
        return {'adopted_host_vars_file': adopted_host_vars_file}
