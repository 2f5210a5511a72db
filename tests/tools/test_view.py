"""ductwatch view against a real ductwatch-acquire fed by a pty garment with
known values: plain text (no escape codes) when stdout is not a terminal,
the garment grid with ANSI when it is."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, read_pty  # noqa: E402
from dwtest.garment import fixed_garment  # noqa: E402


def run(t, args):
    return t.run(["ductwatch"] + args, timeout=20)


def expected_lines():
    names = []
    for side in ("left", "right"):
        for q in ("upper-outer", "upper-inner", "lower-inner", "lower-outer"):
            for ring in ("inner", "outer"):
                names.append("%s %s %s" % (side, q, ring))
    return ["zone %d %s temperature %.2f C pressure %.3f kPa" % (z, n, 33.0 + 0.25 * z, 1.0 + 0.1 * z)
            for z, n in enumerate(names)]


@case()
def test_plain_once(t):
    fixed_garment(t)
    lg = run(t, ["log", "feed-start", "--side", "left"])
    check(lg.returncode == 0, "log: %s" % lg.stderr)
    r = run(t, ["view", "--once"])
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check("\x1b" not in r.stdout, "escape codes in plain output")
    lines = r.stdout.splitlines()
    for want in expected_lines():
        check(want in lines, "missing %r in:\n%s" % (want, r.stdout))
    check("ambient left 24.50 C right 24.75 C" in lines, r.stdout)
    check(lines[0].startswith("device testbra-01 link up"), lines[0])
    check(lines[1].startswith("loss crc 0 length 0"), lines[1])
    check(any(l.startswith("event t+") and l.endswith("feed-start left (user)") for l in lines),
          "the logged event:\n" + r.stdout)


@case()
def test_no_data_once(t):
    r = run(t, ["view", "--once", "--timeout", "1"])
    check(r.returncode == 1, "exit %d" % r.returncode)
    check("\x1b" not in r.stdout and "no sample yet" in r.stdout, r.stdout)


@case()
def test_terminal_grid(t):
    fixed_garment(t)
    master, slave = os.openpty()
    try:
        p = t.spawn(["ductwatch", "view", "--once"], stdout=slave)
        os.close(slave)
        text = read_pty(master, p, 15)
        check(p.wait(15) == 0, "exit status")
        check("\x1b[" in text, "no ANSI on a terminal")
        check("LEFT breast" in text and "RIGHT breast" in text, text)
        # zone 1 (left upper-outer outer) and zone 15 (right lower-outer outer)
        check("33.25C" in text and "1.10kPa" in text, text)
        check("36.75C" in text and "2.50kPa" in text, text)
    finally:
        os.close(master)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
