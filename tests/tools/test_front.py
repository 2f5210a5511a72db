"""The front command as a new user meets it (issue 20 item 6): `ductwatch`
alone fails with status 2 and names every command its --help lists, not a
few of them; `ductwatch --help` names --version; every command listed
answers its own --help."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402


def help_commands(text):
    """The commands of `ductwatch --help`'s list (two spaces, a name)."""
    return [m.group(1) for m in re.finditer(r"^  ([a-z]+)\b", text, re.M)]


@case(timeout=60)
def test_commands(t):
    h = t.run(["ductwatch", "--help"])
    check(h.returncode == 0 and h.stdout.startswith("Usage: ductwatch"), "--help: %d %r"
          % (h.returncode, h.stdout[:200]))
    check("--version" in h.stdout, "--help does not mention --version:\n%s" % h.stdout)
    listed = help_commands(h.stdout)
    for want in ("run", "log", "alerts", "view", "report", "info", "export", "recover"):
        check(want in listed, "--help lacks %s: %s" % (want, listed))

    bare = t.run(["ductwatch"])
    lines = bare.stderr.splitlines()
    check(bare.returncode == 2 and lines and lines[0].startswith("ductwatch: missing command"),
          "ductwatch alone: %d %r" % (bare.returncode, bare.stderr))
    named = re.findall(r"[a-z]+", lines[0].split(":", 2)[2])
    check(named == listed, "ductwatch alone names %s, --help lists %s" % (named, listed))
    check(len(lines) == 2 and "ductwatch --help" in lines[1], "the hint: %r" % bare.stderr)

    for cmd in listed:
        r = t.run(["ductwatch", cmd, "--help"])
        check(r.returncode == 0 and r.stdout.strip(), "ductwatch %s --help: %d %r"
              % (cmd, r.returncode, r.stderr[:200]))
    v = t.run(["ductwatch", "--version"])
    check(v.returncode == 0 and re.match(r"ductwatch \d+\.\d+", v.stdout), "--version: %r"
          % v.stdout)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
