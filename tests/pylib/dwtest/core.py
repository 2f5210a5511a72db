"""Failing, skipping and waiting for a state: one way for every test."""
import time


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


def wait_for(cond, timeout, what, step=0.05):
    """Until cond() holds (its value); Fail naming what at the timeout. For
    states the programs reach, never for a time to pass."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail("timed out (%.0f s) waiting for %s" % (timeout, what))
        time.sleep(step)
