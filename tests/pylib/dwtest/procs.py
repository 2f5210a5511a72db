"""Programs under test as real processes: where they are, a private
directory with a runtime dir for each case, processes whose output is read
line by line, and the cleanup that leaves nothing behind."""
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time

from .core import Fail

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
# meson sets DW_BUILD_ROOT; by hand the tests look in BUILD next to the source.
BUILD_ROOT = os.environ.get("DW_BUILD_ROOT") or os.path.join(SOURCE_ROOT, "build")

_programs = None


def _scan_build():
    found = {}
    for d, dirs, files in os.walk(BUILD_ROOT):
        dirs[:] = [x for x in dirs if not x.endswith(".p") and not x.startswith("meson-")]
        for f in files:
            p = os.path.join(d, f)
            st = os.stat(p)
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111 and "." not in f:
                found.setdefault(f, []).append(p)
    return found


def prog(name):
    """The built program NAME (ductwatch-acquire, testgarment, ...) in the
    build directory, wherever its folder builds it."""
    global _programs
    if _programs is None:
        _programs = _scan_build()
    paths = _programs.get(name)
    if not paths:
        raise Fail("%s is not built in %s (set DW_BUILD_ROOT to the meson build directory)"
                   % (name, BUILD_ROOT))
    if len(paths) > 1:
        raise Fail("two programs named %s in %s: %s" % (name, BUILD_ROOT, paths))
    return paths[0]


def _resolve(argv):
    """argv with a program of this build (a bare name such as
    ductwatch-acquire) as its path; other names are left to PATH."""
    global _programs
    argv = [str(a) for a in argv]
    if os.sep not in argv[0]:
        if _programs is None:
            _programs = _scan_build()
        if argv[0] in _programs:
            argv[0] = prog(argv[0])
    return argv


def artifacts(folder):
    """Where a test leaves files for people to look at (screenshots):
    DW_ARTIFACTS, or the test folder's directory in the build."""
    d = os.environ.get("DW_ARTIFACTS") or os.path.join(BUILD_ROOT, "tests", folder)
    os.makedirs(d, exist_ok=True)
    return d


def source(*parts):
    """A file of the source tree."""
    return os.path.join(SOURCE_ROOT, *parts)


class Proc:
    """A running program. Its stdout is collected by a thread (a chatty
    program never blocks on a full pipe) and read line by line on demand;
    stderr goes to a file (err_text()) unless stderr= says otherwise."""

    def __init__(self, argv, env, err_path=None, stdout=subprocess.PIPE, **kw):
        self.argv = [str(a) for a in argv]
        self.name = os.path.basename(self.argv[0])
        self.err_path = err_path
        if err_path and "stderr" not in kw:
            kw["stderr"] = open(err_path, "wb")
        self.p = subprocess.Popen(self.argv, stdout=stdout, env=env,
                                  stdin=kw.pop("stdin", subprocess.DEVNULL), **kw)
        if err_path and hasattr(kw["stderr"], "close"):
            kw["stderr"].close()
        self.pid = self.p.pid
        self.lines = []         # every stdout line read so far
        self._buf, self._eof = b"", stdout != subprocess.PIPE
        self._cv = threading.Condition()
        if stdout == subprocess.PIPE:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fd = self.p.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            with self._cv:
                if not chunk:
                    self._eof = True
                else:
                    self._buf += chunk
                self._cv.notify_all()
            if not chunk:
                return

    def line(self, timeout=10.0):
        """The next stdout line (without its newline); Fail at the timeout or
        at the end of the output."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                nl = self._buf.find(b"\n")
                if nl >= 0:
                    s = self._buf[:nl].decode(errors="replace")
                    self._buf = self._buf[nl + 1:]
                    self.lines.append(s)
                    return s
                if self._eof:
                    raise Fail("%s ended its output (exit %s)%s" % (self.name, self.p.poll(),
                                                                    self._err_tail()))
                left = end - time.monotonic()
                if left <= 0:
                    raise Fail("%s printed no line within %.0f s%s" % (self.name, timeout,
                                                                       self._err_tail()))
                self._cv.wait(left)

    def expect(self, prefix, timeout=10.0):
        """The next line, which must start with prefix; returns the rest."""
        s = self.line(timeout)
        if not s.startswith(prefix):
            raise Fail("%s printed %r, want a line starting %r%s" % (self.name, s, prefix,
                                                                      self._err_tail()))
        return s[len(prefix):].strip()

    def until(self, pattern, timeout=30.0):
        """Reads lines until one matches the regex; returns it."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("%s: no line matching %r within %.0f s; it printed:\n%s"
                           % (self.name, pattern, timeout, "\n".join(self.lines[-20:])))
            s = self.line(left)
            if re.search(pattern, s):
                return s

    def rest(self, timeout=60.0):
        """Everything it prints until its output ends; all lines as text."""
        end = time.monotonic() + timeout
        with self._cv:
            while not self._eof and time.monotonic() < end:
                self._cv.wait(end - time.monotonic())
        while True:
            try:
                self.line(0.1)
            except Fail:
                break
        return "\n".join(self.lines)

    def err_text(self):
        if not self.err_path:
            return ""
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, pattern, timeout=60.0):
        """Until its stderr file has a line matching the regex (what the
        program says it did, rather than a guess at how long it takes);
        the last match."""
        end = time.monotonic() + timeout
        while True:
            found = re.findall(pattern, self.err_text(), re.M)
            if found:
                return found[-1]
            if self.p.poll() is not None or time.monotonic() > end:
                raise Fail("%s logged no line matching %r (exit %s)%s"
                           % (self.name, pattern, self.p.poll(), self._err_tail()))
            time.sleep(0.05)

    def _err_tail(self):
        tail = self.err_text()[-800:].strip()
        return "; stderr: " + tail if tail else ""

    def poll(self):
        return self.p.poll()

    @property
    def returncode(self):
        return self.p.returncode

    def wait(self, timeout=10.0):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("%s did not end within %.0f s" % (self.name, timeout))

    def send_signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def stop(self, timeout=15.0, sig=signal.SIGTERM):
        """SIGTERM (or sig) and its exit status; Fail (after a SIGKILL) if it
        does not end within timeout."""
        self.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail("%s did not stop on signal %d within %.0f s" % (self.name, sig, timeout))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


class Run:
    """A test case's world: a private 0700 directory with a runtime dir
    (DUCTWATCH_RUNTIME_DIR) inside, the environment the programs get, the
    processes started, and one ZeroMQ context; close() kills what still
    runs and removes the directory (kept when DW_KEEP is set)."""

    def __init__(self, prefix="dwtest-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o700)
        self.rundir = os.path.join(self.dir, "run")
        os.mkdir(self.rundir, 0o700)
        self.env = dict(os.environ, DUCTWATCH_RUNTIME_DIR=self.rundir)
        self.env.pop("JOURNAL_STREAM", None)
        self.procs = []
        self._spawning = threading.Lock()  # a case's threads each start programs
        self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def ep(self, name):
        """A private ipc:// endpoint."""
        return "ipc://" + self.path(name)

    @property
    def ctx(self):
        if self._ctx is None:
            import zmq
            self._ctx = zmq.Context()
        return self._ctx

    def spawn(self, argv, env=None, **kw):
        """Starts a program (a name from the build, or a path); stderr goes
        to DIR/NAME-K.err unless stderr= is given."""
        argv = _resolve(argv)
        err = None
        with self._spawning:  # one stderr file each, named by its place in procs
            if "stderr" not in kw:
                err = self.path("%s-%d.err" % (os.path.basename(str(argv[0])), len(self.procs)))
            p = Proc(argv, env or self.env, err_path=err, **kw)
            self.procs.append(p)
        return p

    def run(self, argv, timeout=30, env=None, **kw):
        """Runs a program to its end: CompletedProcess with text output."""
        argv = _resolve(argv)
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run([str(a) for a in argv], env=env or self.env, timeout=timeout,
                              **kw)

    def close(self):
        for p in self.procs:
            p = getattr(p, "p", p)   # a Proc, or a Popen a case added itself
            if p.poll() is None:
                p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self._ctx is not None:
            self._ctx.destroy(linger=0)
        if os.environ.get("DW_KEEP"):
            print("kept", self.dir, flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def stop_all(procs, timeout=10):
    """Ends processes (subprocess.Popen or Proc), the last started first:
    SIGTERM to each that still runs, then up to timeout s for each to end,
    SIGKILL after that."""
    procs = [getattr(p, "p", p) for p in procs]
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def read_pty(master, proc, seconds, until=None, raw=False):
    """What a process wrote to a pty (its master end) until it exits (proc
    may be None), the pty closes, until(bytes so far) holds or seconds
    pass; as text, or as bytes with raw."""
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until and until(buf)):
        if select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: every slave end is closed
                break
            if not chunk:
                break
            buf += chunk
        elif proc is not None and proc.poll() is not None:
            break
    return buf if raw else buf.decode("utf-8", "replace")


def kill_stage(run_proc, name):
    """SIGKILLs the stage name of a running `ductwatch run` (a Proc) and
    waits until run says it restarted it."""
    kids = children(run_proc.pid)
    if name not in kids:
        raise Fail("%s not among run's children %r" % (name, kids))
    os.kill(kids[name], signal.SIGKILL)
    run_proc.until(r"^%s killed by signal 9 .*restarting it in" % name)
    run_proc.until(r"^%s restarted" % name)


def run_ended(run_proc, restarted=(), timeout=60):
    """Everything a `ductwatch run` (a Proc) printed until it ended on its
    own, once it exited 0 and its summary counts one restart of each stage
    named in restarted."""
    out = run_proc.rest(timeout)
    rc = run_proc.wait(timeout)
    if rc != 0:
        raise Fail("ductwatch run exit %d\n%s" % (rc, out))
    for name in restarted:
        if "restarts: %s 1" % name not in out:
            raise Fail("%s's restart not in the summary:\n%s" % (name, out))
    return out


def children(pid):
    """{program name: pid} of pid's direct children."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            if int(st[st.rindex(")") + 2:].split()[1]) != pid:
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode()
            out[os.path.basename(argv0)] = int(d)
        except (OSError, ValueError):
            continue
    return out
