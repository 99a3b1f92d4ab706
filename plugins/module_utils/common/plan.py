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

import time


class PlanFailed(Exception):
    """A step failed; the steps done before it were rolled back, newest first (or tried to be).

    done: the names of the steps done before the failure, in the order they ran.
    rolled_back: those whose undo ran and succeeded, in the order they were undone.
    no_undo: those done without an undo (their plan says none is needed: a check, or a change that an
    earlier step's undo takes away, like bringing up a bridge that the rollback deletes).
    rollback_errors: one message per undo that failed.
    """

    def __init__(self, step, cause, rollback_errors=None, done=None, rolled_back=None, no_undo=None):
        self.step = step
        self.cause = cause
        self.rollback_errors = rollback_errors or []
        self.done = done or []
        self.rolled_back = rolled_back or []
        self.no_undo = no_undo or []
        message = 'step %r failed: %s' % (step, cause)
        if self.rolled_back:
            message += '; rolled back %s' % ', '.join(repr(name) for name in self.rolled_back)
        if self.no_undo:
            message += '; %s needed no undo' % ', '.join(repr(name) for name in self.no_undo)
        if self.rollback_errors:
            message += '; rollback incomplete: ' + '; '.join(self.rollback_errors)
        super(PlanFailed, self).__init__(message)

    def result(self, plan):
        """The keys a failed module result carries about the rollback."""
        return dict(failed_step=self.step, rolled_back=self.rolled_back, rollback_errors=self.rollback_errors,
                    no_undo=self.no_undo, plan=plan.names())


def fail_with_rollback(module, subject, error, plan, what='host'):
    """Fail the module for a PlanFailed, saying exactly what the rollback undid; only a complete rollback
    claims that the host (or firewall...) is as it was."""
    message = '%s: %s' % (subject, error)
    if not error.rollback_errors:
        message += '. The %s was left as it was before this task.' % what
    module.fail_json(msg=message, **error.result(plan))


def apply_plan(module, plan, result, subject, what='host'):
    """Run a plan that is not empty, timing it into result['apply_seconds']; a failed step fails the
    module with the rollback report (fail_with_rollback)."""
    started = time.monotonic()
    try:
        plan.apply()
    except PlanFailed as error:
        fail_with_rollback(module, subject, error, plan, what)
    result['apply_seconds'] = round(time.monotonic() - started, 3)
    return result


class Step:
    """One named change; undo is None when nothing needs undoing. A step whose change cannot be undone
    belongs at the end of its plan, where no later step can fail after it."""

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
                rolled_back, no_undo, errors = rollback(done)
                raise PlanFailed(step.name, error, errors, [s.name for s in done], rolled_back, no_undo)
            done.append(step)
        return done


def rollback(done_steps):
    """Undo steps newest first; keep going past failures and report them all.

    Returns (names undone, names without an undo, one message per failed undo)."""
    rolled_back, no_undo, errors = [], [], []
    for step in reversed(done_steps):
        if step.undo is None:
            no_undo.append(step.name)
            continue
        try:
            step.undo()
        except Exception as error:  # pylint: disable=broad-except
            errors.append('undo of %r: %s' % (step.name, error))
        else:
            rolled_back.append(step.name)
    return rolled_back, no_undo, errors
