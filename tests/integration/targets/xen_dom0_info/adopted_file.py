"""What the checks of a written host_vars file share: reading it (shown in the log) and comparing its variables."""

import yaml


def read_adopted(path):
    """The file's text, printed for the log, and the variables it loads as."""
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    print(text)
    return text, yaml.safe_load(text)


def variable_problems(expected, host_vars):
    """One line per variable that is not as expected (missing and extra ones included)."""
    return ['%s: expected %r, got %r' % (key, expected.get(key), host_vars.get(key))
            for key in sorted(set(expected) | set(host_vars)) if host_vars.get(key) != expected.get(key)]
