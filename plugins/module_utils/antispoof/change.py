# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one xen_antispoof run does to a firewall backend, independent of the backend.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Change:
    """A backend's planned change: a summary (None when there is nothing to do), callables that
    check, apply and undo it, a callable giving the ruleset before as text (only diff mode asks),
    the ruleset after as text, the files to persist ({path: text, or None to remove}) and the
    names of the vifs that have a policy afterwards."""

    def __init__(self, summary, apply, undo, check, before_text, after_text, persist, vifs=()):
        self.summary = summary
        self.apply = apply
        self.undo = undo
        self.check = check
        self.before_text = before_text
        self.after_text = after_text
        self.persist = persist
        self.vifs = sorted(vifs)

    def __bool__(self):
        return self.summary is not None

    __nonzero__ = __bool__
