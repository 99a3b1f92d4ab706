"""What site.yml changed with the adopted host_vars: run 1 only what the adoption lists, run 2 nothing."""

import collections
import json
import re
import sys

import yaml

host_vars_path, log_path, run = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(host_vars_path).read()
# The guests whose vifs the header lists as not expressed: the only ones site.yml may change.
listed = set(re.findall(r'^#   - guest (\S+) vif \d+: no (?:mac|vifname):', text, re.M))
adopted = yaml.safe_load(text)
entries = [json.loads(line) for line in open(log_path)]
if any(entry['status'] == 'failed' for entry in entries):
    sys.exit('site.yml failed: %s' % [entry for entry in entries if entry['status'] == 'failed'])

changed = [entry for entry in entries if entry['changed'] and not (entry['loop'] and entry['status'] == 'ok')]
print('site.yml run %d: %d results, %d changed' % (run, len(entries), len(changed)))
for entry in changed:
    print('  changed: %s %s' % (entry['task'], entry['item'] or ''))
if run > 1:
    if changed:
        sys.exit('the rerun changed something')
    sys.exit(0)

names = set(guest['name'] for guest in adopted['xenfleet_guests'])
changed_guests = collections.Counter()
problems = []
for entry in changed:
    label = str(entry['item'] or '')
    guest = label.split()[0] if label.split() and label.split()[0] in names else None
    if guest is None and isinstance(entry['result'].get('guests'), dict):
        # xen_guest_vifs: one result for all of the dom0's guests, each with its own changed flag.
        for name, found in entry['result']['guests'].items():
            if found.get('changed'):
                changed_guests[name] += 1
                print('    %s: %s' % (name, ', '.join(found.get('steps') or [])))
        continue
    if guest is None:
        problems.append('changed, but not about a guest: %s %s' % (entry['task'], label))
    else:
        changed_guests[guest] += 1
unlisted = sorted(set(changed_guests) - listed)
if unlisted:
    problems.append('guests changed that the adoption did not list: %s' % unlisted)
if set(changed_guests) != listed:
    problems.append('listed guests %s, changed %s: each listed vif must get its mac/vifname' % (sorted(listed), sorted(changed_guests)))
if problems:
    sys.exit('site.yml changed what the adoption did not list:\n  ' + '\n  '.join(problems))
print('check_changes: only the listed guests changed: %s' % sorted(changed_guests))
