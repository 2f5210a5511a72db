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
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, read_pty  # noqa: E402
from dwtest.garment import fixed_garment  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLS = 80


def pty_80():
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLS, 0, 0))
    return master, slave


def visible_lines(text):
    return [ANSI.sub("", l) for l in re.split(r"\r\n|\n|\r", text)]


def on_pty_80(t, argv, seconds):
    """What argv writes to an 80-column terminal, and its exit status."""
    master, slave = pty_80()
    try:
        p = t.spawn(argv, stdout=slave)
        os.close(slave)
        slave = None
        out = read_pty(master, p, seconds)
        return out, p.wait(seconds)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


@case(timeout=60)
def test_view_80_columns(t):
    fixed_garment(t)
    text = "a long note: " + "x" * 30 + " and some more words to wrap"
    lg = t.run(["ductwatch", "log", "symptom", "--side", "right", "--text", text[:64]])
    check(lg.returncode == 0, "log: %s" % lg.stderr)
    out, rc = on_pty_80(t, ["ductwatch", "view", "--once"], 15)
    check(rc == 0, "view exit status")
    lines = visible_lines(out)
    check(any("RIGHT breast" in l for l in lines) and any("ambient" in l for l in lines),
          "no grid:\n%s" % out)
    long = [(len(l), l) for l in lines if len(l) > COLS - 1]
    check(not long, "lines wider than %d columns: %s" % (COLS - 1, long))
    check("a long note" in out, "the event text is not shown:\n%s" % out)


@case(timeout=120)
def test_run_status_line(t):
    out, rc = on_pty_80(t, ["ductwatch", "run", "--scenario", "healthy", "--duration", "3h",
                            "--speed", "2000", "--dir", t.path("sessions"), "--no-report"], 90)
    check(rc == 0, "run exit status %s" % rc)
    status = [l for l in visible_lines(out) if re.search(r"t\+\d.*alerts \d", l)]
    check(len(status) >= 2, "few status lines (%d):\n%s" % (len(status), out[-2000:]))
    for l in status:
        check(len(l) <= COLS - 1, "status line of %d columns: %r" % (len(l), l))
        check(re.search(r"alerts \d+ \(\d+ active\)$", l), "status line cut: %r" % l)
    check(any(re.search(r"\bL \d+\.\dC \d+\.\d\dkPa  R \d+\.\dC", l) for l in status),
          "the readings never fit:\n%s" % "\n".join(status))


@case(timeout=90)
def test_pipeline_stopped(t):
    pub = fixed_garment(t)
    garment = list(t.procs)     # testgarment and acquire
    det_ep = t.ep("det")
    det = t.spawn(["ductwatch-detect", "--sub", pub, "--pub", det_ep])
    det.expect("pub: ")
    view = t.spawn(["ductwatch", "view", "--interval", "0.5", "--sub", pub, "--sub", det_ep])
    alerts = t.spawn(["ductwatch", "alerts", "--sub", det_ep])
    view.until(r"^device testbra-01 link up", timeout=20)
    time.sleep(2.5)  # alerts has seen detect listening
    # the pipeline goes: detect killed (its socket file stays, refusing),
    # acquire and the garment stopped
    det.kill()
    for p in garment:
        p.stop()
    line = view.until(r"the pipeline has stopped", timeout=20)
    check("nothing from it since" in line, "view says %r" % line)
    view.until(r"^device testbra-01 link stopped", timeout=10)
    alerts.wait_log(r"the pipeline has stopped", timeout=15)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
