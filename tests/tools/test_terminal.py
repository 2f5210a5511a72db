"""What the terminal shows (issue 20 item 8), on real pseudo-terminals set
to 80 columns:
- `ductwatch view` keeps every line within 79 columns (a line reaching the
  last column wraps on many terminals and breaks the redraw), long event
  texts included;
- `ductwatch run`'s status line fits the terminal without a part cut in the
  middle (it ends with the alert count);
- after the pipeline goes away, `view` and `alerts` say "the pipeline has
  stopped" instead of showing the last state forever."""
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time

from toolslib import (DUCTWATCH, Garment, Lines, check, main, private_env, read_line,
                      read_pty, run)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLS = 80


def pty_80():
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLS, 0, 0))
    return master, slave


def visible_lines(text):
    return [ANSI.sub("", l) for l in re.split(r"\r\n|\n|\r", text)]


def test_view_80_columns():
    env, d = private_env()
    g = Garment(env)
    master, slave = pty_80()
    try:
        g.wait_data(env)
        text = "a long note: " + "x" * 30 + " and some more words to wrap"
        for _ in range(20):
            lg = run(["log", "symptom", "--side", "right", "--text", text[:64]], env)
            if lg.returncode == 0:
                break
            time.sleep(0.2)
        check(lg.returncode == 0, "log: %s" % lg.stderr)
        p = subprocess.Popen([DUCTWATCH, "view", "--once"], stdout=slave,
                             stderr=subprocess.DEVNULL, env=env)
        os.close(slave)
        slave = None
        out = read_pty(master, p, 15)
        check(p.wait(5) == 0, "view exit status")
        lines = visible_lines(out)
        check(any("RIGHT breast" in l for l in lines) and any("ambient" in l for l in lines),
              "no grid:\n%s" % out)
        long = [(len(l), l) for l in lines if len(l) > COLS - 1]
        check(not long, "lines wider than %d columns: %s" % (COLS - 1, long))
        check("a long note" in out, "the event text is not shown:\n%s" % out)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
        g.close()
        shutil.rmtree(d)


def test_run_status_line():
    env, d = private_env()
    sessions = os.path.join(d, "sessions")
    master, slave = pty_80()
    try:
        p = subprocess.Popen([DUCTWATCH, "run", "--scenario", "healthy", "--duration", "3h",
                              "--speed", "2000", "--dir", sessions, "--no-report"],
                             stdout=slave, stderr=subprocess.DEVNULL, env=env)
        os.close(slave)
        slave = None
        out = read_pty(master, p, 60)
        check(p.wait(60) == 0, "run exit status %s" % p.returncode)
        status = [l for l in visible_lines(out) if re.search(r"t\+\d.*alerts \d", l)]
        check(len(status) >= 2, "few status lines (%d):\n%s" % (len(status), out[-2000:]))
        for l in status:
            check(len(l) <= COLS - 1, "status line of %d columns: %r" % (len(l), l))
            check(re.search(r"alerts \d+ \(\d+ active\)$", l), "status line cut: %r" % l)
        check(any(re.search(r"\bL \d+\.\dC \d+\.\d\dkPa  R \d+\.\dC", l) for l in status),
              "the readings never fit:\n%s" % "\n".join(status))
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
        shutil.rmtree(d)


def test_pipeline_stopped():
    env, d = private_env()
    g = Garment(env)
    det = alerts = view = None
    try:
        g.wait_data(env)
        det_ep = "ipc://" + os.path.join(d, "det")
        det = subprocess.Popen([os.environ.get("DW_DETECT", "ductwatch-detect"),
                                "--sub", g.pub, "--pub", det_ep], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env)
        check(read_line(det).startswith("pub: "), "detect did not start")
        view = subprocess.Popen([DUCTWATCH, "view", "--interval", "0.5", "--sub", g.pub,
                                 "--sub", det_ep], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env)
        alerts = subprocess.Popen([DUCTWATCH, "alerts", "--sub", det_ep],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        lines = Lines(view)
        lines.until(r"^device testbra-01 link up", timeout=20)
        time.sleep(2.5)  # alerts has seen detect listening
        # the pipeline goes: detect killed (its socket file stays, refusing),
        # acquire and the garment stopped
        det.send_signal(signal.SIGKILL)
        det.wait(5)
        g.close()
        line = lines.until(r"the pipeline has stopped", timeout=20)
        check("nothing from it since" in line, "view says %r" % line)
        lines.until(r"^device testbra-01 link stopped", timeout=10)
        err = ""
        end = time.monotonic() + 15
        while "the pipeline has stopped" not in err and time.monotonic() < end:
            r, _, _ = select.select([alerts.stderr], [], [], 0.5)
            if r:
                err += os.read(alerts.stderr.fileno(), 4096).decode()
        check("the pipeline has stopped" in err, "alerts says nothing: %r" % err)
    finally:
        for p in (view, alerts, det):
            if p and p.poll() is None:
                p.terminate()
                p.wait(5)
        g.close()
        shutil.rmtree(d)


if __name__ == "__main__":
    main([test_view_80_columns, test_run_status_line, test_pipeline_stopped])
