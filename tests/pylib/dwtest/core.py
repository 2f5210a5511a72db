"""Failing and skipping: one way for every test."""


class Fail(Exception):
    """A check that did not hold; the runner reports its message."""


class Skip(Exception):
    """The case cannot run here (a missing tool, no permission); the runner
    reports it as skipped (exit 77 when nothing else ran)."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def fail(msg):
    raise Fail(msg)


def skip(reason):
    raise Skip(reason)
