# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the packets xen_antispoof dropped from one vif, read from `nft -j list ruleset` on stdin.

The count is the counter of the vif's element in the set `dropped` of the
collection's tables; a vif without such an element prints 0.
"""

import json
import sys


def dropped(ruleset, vif):
    total = 0
    for item in ruleset.get('nftables', []):
        nft_set = item.get('set')
        if not nft_set or nft_set.get('table') != 'xenfleet_antispoof' or nft_set.get('name') != 'dropped':
            continue
        for element in nft_set.get('elem') or []:
            if isinstance(element, dict) and 'elem' in element and element['elem'].get('val') == vif:
                total += element['elem'].get('counter', {}).get('packets', 0)
    return total


if __name__ == '__main__':
    print(dropped(json.load(sys.stdin), sys.argv[1]))
