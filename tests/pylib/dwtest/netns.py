"""Separate hosts for a test on one machine: network namespaces joined by
a veth pair (docs/testing.md). Needs root, unshare, nsenter and ip; a case
calls netns_usable() first and skips with the reason when it says no."""
import os
import shutil
import subprocess
import time

from .core import check
from .procs import _resolve


class Netns:
    """A network namespace held by a sleeping process (unshare), entered
    with nsenter; it and its veth end vanish with that process. Nothing is
    created in the test's own namespace. The sleeper lasts `seconds`; after
    that the case's processes in it keep it, but nsenter cannot enter it."""

    def __init__(self, run, seconds=120):
        self.p = subprocess.Popen(['unshare', '--net', 'sleep', str(seconds)])
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
        """argv run inside the namespace (a program of this build by its
        name, as Run.spawn takes it)."""
        return ['nsenter', '--net=' + self.ns, *_resolve(argv)]

    def sh(self, cmd):
        p = subprocess.run(self.argv('sh', '-c', cmd), capture_output=True, text=True, timeout=10)
        check(p.returncode == 0, '%s: %s' % (cmd, p.stderr))


def veth_pair(a, b, net="10.231.0", names=("va", "vb")):
    """Namespaces a and b joined by a veth pair: a is NET.1 on names[0], b
    NET.2 on names[1], both with their loopback up."""
    a.sh('ip link add %s type veth peer name %s netns %d' % (names[0], names[1], b.p.pid))
    for ns, dev, host in ((a, names[0], 1), (b, names[1], 2)):
        ns.sh('ip addr add %s.%d/24 dev %s && ip link set %s up && ip link set lo up'
              % (net, host, dev, dev))


def netns_usable():
    if os.geteuid() != 0 or not all(shutil.which(x) for x in ('unshare', 'nsenter', 'ip')):
        return False
    return subprocess.run(['unshare', '--net', 'ip', 'link', 'add', 'vt0', 'type', 'veth', 'peer',
                           'name', 'vt1'], capture_output=True).returncode == 0
