"""missing_vifs.py CONFIG VIFNAME...: parse CONFIG with the collection's own parser and print the
vifnames expected but not in its vif list (nothing when all are there), then the entries found."""
import sys

from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import decode_config, parse_config, vif_entries
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import parse_vif

with open(sys.argv[1], 'rb') as handle:
    entries = vif_entries(parse_config(decode_config(handle.read())))
found = [parse_vif(entry).to_dict().get('vifname') for entry in entries]
missing = [name for name in sys.argv[2:] if name not in found]
if missing or len(found) != len(sys.argv) - 2:
    print('missing %s; the file holds %d vifs: %s' % (' '.join(missing) or 'none', len(found), ' '.join(map(str, found))))
    sys.exit(1)
