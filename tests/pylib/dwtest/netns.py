"""Separate hosts for a test on one machine: network namespaces joined by
a veth pair (docs/testing.md). Needs root, unshare, nsenter and ip; a case
calls netns_usable() first and skips with the reason when it says no."""
import os
import shutil
import subprocess
import time

from .core import check


class Netns:
    """A network namespace held by a sleeping process (unshare), entered
    with nsenter; it and its veth end vanish with that process. Nothing is
    created in the test's own namespace."""

    def __init__(self, run):
        self.p = subprocess.Popen(['unshare', '--net', 'sleep', '120'])
        run.procs.append(self.p)
        self.ns = '/proc/%d/ns/net' % self.p.pid
        end = time.monotonic() + 5
        while time.monotonic() < end:  # until unshare has exec'ed sleep
            try:
                if os.readlink(self.ns) != os.readlink('/proc/self/ns/net'):
                    break
            except OSError:
                pass
            time.sleep(0.02)

    def argv(self, *argv):
        return ['nsenter', '--net=' + self.ns, *argv]

    def sh(self, cmd):
        p = subprocess.run(self.argv('sh', '-c', cmd), capture_output=True, text=True, timeout=10)
        check(p.returncode == 0, '%s: %s' % (cmd, p.stderr))


def netns_usable():
    if os.geteuid() != 0 or not all(shutil.which(x) for x in ('unshare', 'nsenter', 'ip')):
        return False
    return subprocess.run(['unshare', '--net', 'ip', 'link', 'add', 'vt0', 'type', 'veth', 'peer',
                           'name', 'vt1'], capture_output=True).returncode == 0
