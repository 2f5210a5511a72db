#!/usr/bin/python3
"""Sharing the runtime directory with a group, end to end (issue 20 point
9, docs/security.md section 9): the services run as their own user with
data/group-access.conf's settings (runtime directory 0750 of the group,
umask 0007, DUCTWATCH_RUNTIME_GROUP); a desktop user in the group follows
the alerts and the live values from her own login, one who is not in it
is refused and reads nothing. Real programs under real uids (setpriv),
real ipc sockets; needs root to switch users (skipped otherwise)."""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, prog, skip  # noqa: E402

MEMBER_UID = 65534          # nobody: the desktop user
FALLBACK_GROUP = "users"    # when groupadd is not possible


def free_uid():
    """A uid with no account: the services' user (nothing else runs as it)."""
    import pwd
    used = {p.pw_uid for p in pwd.getpwall()}
    for uid in range(64999, 60000, -1):
        if uid not in used:
            return uid
    skip("no free uid for the services' user")


class Shared(dwtest.Run):
    """A case's world plus a temporary group (removed at the end) and a
    runtime directory made as systemd makes it with the drop-in: owned by
    the services' user, mode 0750, the group's."""

    def __init__(self):
        if os.geteuid() != 0:
            skip("needs root to run programs as other users")
        if not shutil.which("setpriv"):
            skip("setpriv (util-linux) not installed")
        super().__init__("dwgroup-")
        self.group, self.made_group = "dwtest-%d" % os.getpid(), False
        try:
            r = subprocess.run(["groupadd", "--system", self.group], capture_output=True,
                               text=True, timeout=20)
            self.made_group = r.returncode == 0
        except OSError:
            pass
        if not self.made_group:
            self.group = FALLBACK_GROUP
        import grp
        self.gid = grp.getgrnam(self.group).gr_gid
        self.svc_uid = free_uid()
        os.chmod(self.dir, 0o711)   # the parents: others may pass through
        self.rundir = self.path("run-shared")
        os.mkdir(self.rundir)
        os.chown(self.rundir, self.svc_uid, self.gid)
        os.chmod(self.rundir, 0o750)
        print("group %s (gid %d, %s), services uid %d, member uid %d" % (
            self.group, self.gid, "made by the test" if self.made_group else "existing",
            self.svc_uid, MEMBER_UID), flush=True)

    def close(self):
        try:
            super().close()
        finally:
            if self.made_group:
                subprocess.run(["groupdel", self.group], capture_output=True, timeout=20)

    def as_service(self, argv):
        """argv (a program of the build) as the services run: their user and
        group, umask 0007, the group named for sharing."""
        env = dict(self.env, DUCTWATCH_RUNTIME_DIR=self.rundir,
                   DUCTWATCH_RUNTIME_GROUP=self.group, HOME=self.rundir)
        cmd = ["setpriv", "--reuid=%d" % self.svc_uid, "--regid=%d" % self.gid,
               "--clear-groups", "--", prog(argv[0]), *argv[1:]]
        return self.spawn(cmd, env=env, preexec_fn=lambda: os.umask(0o007))

    def user_cmd(self, argv, member):
        """argv as the desktop user, in the group or not."""
        groups = ["--groups=%d" % self.gid] if member else ["--clear-groups"]
        return ["setpriv", "--reuid=%d" % MEMBER_UID, "--regid=%d" % MEMBER_UID, *groups,
                "--", prog(argv[0]) if not argv[0].startswith("/") else argv[0], *argv[1:]]

    def user_env(self):
        env = dict(self.env, DUCTWATCH_RUNTIME_DIR=self.rundir, HOME="/nonexistent")
        env.pop("DUCTWATCH_RUNTIME_GROUP", None)
        env.pop("XDG_RUNTIME_DIR", None)
        return env

    def as_user(self, argv, member, timeout=20):
        return self.run(self.user_cmd(argv, member), timeout=timeout, env=self.user_env())


def start_services(t):
    """testgarment (fixed values, testbra-01), ductwatch-acquire and
    ductwatch-detect on their default endpoints in the shared directory,
    as the services' user; returns once both said where they listen."""
    g = t.as_service(["testgarment", "--hold-ms", "60000", "--values", "fixed",
                      "--device", "testbra-01", "--rate", "10"])
    port = g.expect("pty: ")
    acq = t.as_service(["ductwatch-acquire", "--port", port])
    check(acq.expect("pub: ", 15) == "ipc://%s/acquire" % t.rundir, "acquire's pub line")
    check(acq.expect("events: ") == "ipc://%s/events" % t.rundir, "acquire's events line")
    det = t.as_service(["ductwatch-detect"])
    det.until(r"ipc://%s/detect" % t.rundir, 15)
    for name in ("acquire", "events", "detect"):
        st = os.stat(os.path.join(t.rundir, name))
        check(st.st_uid == t.svc_uid and st.st_mode & 0o777 == 0o770,
              "socket %s: uid %d mode %o, want %d 0770" % (name, st.st_uid, st.st_mode & 0o777,
                                                         t.svc_uid))
    return acq, det


def follow_alert(t):
    """`ductwatch alerts --json` as the member, while the member logs a
    thermometer reading of 38.6 C through acquire's events socket; the G3
    it prints. A subscription made late misses the raise, and a fever
    already raised is not raised again: then a reading of 36.8 C clears it
    and 38.6 C raises it anew, until the member sees a raise."""
    p = t.spawn(t.user_cmd(["ductwatch", "alerts", "--json"], True), env=t.user_env())
    end = time.monotonic() + 30
    while True:
        for value in ("36.8", "38.6"):
            r = t.as_user(["ductwatch", "log", "thermometer", value], True)
            check(r.returncode == 0, "the member's log: exit %d: %s" % (r.returncode, r.stderr))
        try:
            while True:
                alert = json.loads(p.line(3))
                if alert["rule"] == "G3" and alert["state"] == "raised":
                    return alert, p
        except dwtest.Fail:
            if p.poll() is not None or time.monotonic() > end:
                raise


@case(timeout=60, suites=["integration"])
def test_member_follows_non_member_refused(t):
    start_services(t)
    alert, p = follow_alert(t)
    check(alert["level"] == "L3" and alert["device"] == "testbra-01" and alert["value"] == 38.6,
          "the member's first alert: %r" % alert)
    p.stop(10)
    v = t.as_user(["ductwatch", "view", "--once"], True)
    check(v.returncode == 0, "the member's view: exit %d: %s" % (v.returncode, v.stderr))
    check("zone 0 left upper-outer inner temperature 33.00 C pressure 1.000 kPa" in v.stdout
          and v.stdout.startswith("device testbra-01 link up"),
          "the member's view shows no live values:\n" + v.stdout)

    for argv in (["ductwatch", "alerts", "--json"], ["ductwatch", "view", "--once"],
                 ["ductwatch", "log", "thermometer", "38.6"]):
        r = t.as_user(argv, False)
        check(r.returncode == 1 and r.stdout == "",
              "%s as a non-member: exit %d, output %r" % (argv[1], r.returncode, r.stdout))
        check("runtime directory %s" % t.rundir in r.stderr and "group" in r.stderr,
              "%s as a non-member: no clear reason: %r" % (argv[1], r.stderr))
    # and not by going around the programs' check: the kernel refuses
    code = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(sys.argv[1]); print('connected')\n"
            "except OSError as e:\n print(e.strerror)\n")
    for name in ("detect", "acquire", "events"):
        r = t.as_user(["/usr/bin/python3", "-c", code, os.path.join(t.rundir, name)], False)
        check(r.stdout.strip() == "Permission denied",
              "a non-member connecting to %s: %r %r" % (name, r.stdout, r.stderr))


if __name__ == "__main__":
    dwtest.main(fixture=Shared)
