# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans: an ordered list of named steps, each with the action that undoes it.

The same plan serves check mode (report the step names), diff mode (the
caller shows before/after) and apply (run the steps, and if one fails, undo
the ones already done, newest first, so the host is left as it was).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PlanFailed(Exception):
    """A step failed; the steps before it were rolled back (or tried to be)."""

    def __init__(self, step, cause, rollback_errors=None, done=None):
        self.step = step
        self.cause = cause
        self.rollback_errors = rollback_errors or []
        self.done = done or []
        message = 'step %r failed: %s' % (step, cause)
        if self.rollback_errors:
            message += '; rollback incomplete: ' + '; '.join(self.rollback_errors)
        elif self.done:
            message += '; rolled back %d earlier step(s)' % len(self.done)
        super(PlanFailed, self).__init__(message)


class Step:
    """One named change; undo is None when nothing needs undoing."""

    def __init__(self, name, action, undo=None):
        self.name = name
        self.action = action
        self.undo = undo

    def __repr__(self):
        return 'Step(%r)' % self.name


class Plan:
    """Steps in the order they must run."""

    def __init__(self):
        self.steps = []

    def add(self, name, action, undo=None):
        self.steps.append(Step(name, action, undo))

    def __bool__(self):
        return bool(self.steps)

    __nonzero__ = __bool__

    def __len__(self):
        return len(self.steps)

    def names(self):
        return [step.name for step in self.steps]

    def apply(self):
        """Run every step; on failure undo what was done and raise PlanFailed."""
        done = []
        for step in self.steps:
            try:
                step.action()
            except Exception as error:  # pylint: disable=broad-except
                errors = rollback(done)
                raise PlanFailed(step.name, error, errors, [s.name for s in done])
            done.append(step)
        return done


def rollback(done_steps):
    """Undo steps newest first; keep going past failures and report them all."""
    errors = []
    for step in reversed(done_steps):
        if step.undo is None:
            continue
        try:
            step.undo()
        except Exception as error:  # pylint: disable=broad-except
            errors.append('undo of %r: %s' % (step.name, error))
    return errors
