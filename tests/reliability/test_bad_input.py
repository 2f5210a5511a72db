"""Bad input as a user meets it, for every program: exit status and the
message on stderr (README: 0 ok, 2 bad usage with a one-line reason, 1
runtime failure with a clear message).

Classes: bad command line (unknown flag, missing argument, conflicting or
incomplete flags) -> 2; bad durations -> 2; bad configuration values -> 2
with FILE:LINE: reason; missing or unreadable files (a directory where a
file is expected, a path under a regular file: chmod 000 does not stop
root) -> 1; an HDF5 file that is not a ductwatch session, to
`ductwatch-record --recover`, `ductwatch recover` and the replay -> 1."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402

PROGRAMS = ["ductwatch", "ductwatch-acquire", "ductwatch-detect", "ductwatch-record",
            "ductwatch-keygen", "ductwatch-broker"]

BAD_DURATIONS = ["5x", "-1h", "", "99999999999d"]


def run(t, argv, timeout=20):
    p = t.run(argv, timeout=timeout, cwd=t.dir)
    return p.returncode, p.stdout, p.stderr


def expect(t, prog, args, code, pattern, argv0=None):
    """Runs PROG ARGS; exit status code and a first stderr line that starts
    with the program's name and matches pattern."""
    exe = argv0 or prog
    rc, out, err = run(t, [exe] + args)
    shown = "%s %s" % (prog, " ".join(repr(a) for a in args))
    check(rc == code, "%s: exit %d, want %d; stderr %r" % (shown, rc, code, err[-400:]))
    lines = err.splitlines()
    check(lines, "%s: nothing on stderr" % shown)
    check(re.search(pattern, lines[0]), "%s: first stderr line %r does not match %r"
          % (shown, lines[0], pattern))
    if code == 2:
        # A one-line reason, then at most the "Try ... --help" hint.
        check(lines[0].startswith(prog.split()[0]), "%s: %r lacks the program name" % (shown, lines[0]))
        check(len(lines) <= 2 and (len(lines) == 1 or "--help" in lines[1]),
              "%s: more than one line of reason: %r" % (shown, err))
    return err


@case()
def test_help_and_version(t):
    for prog in PROGRAMS:
        for flag in ("--help", "--version"):
            rc, out, err = run(t, [prog, flag])
            check(rc == 0 and out.strip(), "%s %s: exit %d, stdout %r" % (prog, flag, rc, out[:80]))
        rc, out, _ = run(t, [prog, "--version"])
        check(out.startswith(prog), "%s --version: %r" % (prog, out))


@case()
def test_bad_usage(t):
    table = [
        # unknown flag
        ("ductwatch", ["--bogus"], r"unknown command '--bogus'"),
        ("ductwatch", ["run", "--bogus"], r"unknown option '--bogus'"),
        ("ductwatch-acquire", ["--bogus"], r"unknown option '--bogus'"),
        ("ductwatch-detect", ["--bogus"], r"unknown option '--bogus'"),
        ("ductwatch-record", ["--bogus"], r"unknown option '--bogus'"),
        ("ductwatch-keygen", ["--bogus"], r"unknown option '--bogus'"),
        ("ductwatch-broker", ["--bogus"], r"unknown option '--bogus'"),
        # missing argument
        ("ductwatch", [], r"missing command"),
        ("ductwatch", ["run", "--port"], r"'--port' needs a value"),
        ("ductwatch", ["log"], r"missing KIND"),
        ("ductwatch-acquire", [], r"--port"),
        ("ductwatch-acquire", ["--port"], r"'--port' needs a value"),
        ("ductwatch-detect", ["--input"], r"'--input' needs a value"),
        ("ductwatch-record", ["--sub"], r"'--sub' needs a value"),
        ("ductwatch-keygen", [], r"missing NAME"),
        ("ductwatch-broker", [], r"missing --frontend"),
        ("ductwatch-broker", ["--frontend"], r"'--frontend' needs a value"),
        # bad values
        ("ductwatch", ["run", "--rate", "0"], r"bad --rate '0'"),
        ("ductwatch", ["log", "thermometer", "abc"], r"bad thermometer value 'abc'"),
        ("ductwatch-acquire", ["--port", "/dev/null", "--baud", "fast"], r"bad baud rate 'fast'"),
        ("ductwatch-acquire", ["--port", "/dev/null", "--sndhwm", "-1"], r"bad --sndhwm '-1'"),
        ("ductwatch-acquire", ["--port", "/dev/null", "--sndhwm", "lots"],
         r"bad --sndhwm 'lots' \(0\.\.100000000\)"),
        ("ductwatch-record", ["--chunk-rows", "1"], r"bad --chunk-rows '1'"),
        ("ductwatch-broker", ["--frontend", "ipc://a", "--backend", "ipc://b", "--hwm", "x"],
         r"bad --hwm 'x'"),
        # conflicting or incomplete flags
        ("ductwatch", ["run", "--speed", "2", "--fast"], r"--speed and --fast exclude each other"),
        ("ductwatch", ["run", "--scenario", "x", "--port", "/dev/null"],
         r"--port excludes the simulator's options"),
        ("ductwatch-acquire", ["--port", "/dev/null", "--curve-key", "k"],
         r"--curve-key and --allow go together"),
        ("ductwatch-detect", ["--input", "x", "--sub", "ipc://y"], r"does not go with --sub"),
        ("ductwatch-record", ["--recover", "x.h5", "--sub", "ipc://y"],
         r"--recover does not record"),
        ("ductwatch-record", ["--curve-key", "k"], r"--curve-key and --server-key go together"),
        ("ductwatch-keygen", ["a", "b"], r"unexpected argument 'b'"),
        ("ductwatch-broker", ["--frontend", "ipc://a", "--backend", "ipc://b", "--curve-key", "k"],
         r"--curve-key and --allow go together"),
    ]
    for prog, args, pattern in table:
        if prog == "ductwatch" and args[:1] in (["run"], ["log"]):
            expect(t, "ductwatch " + args[0], args, 2, pattern, "ductwatch")
        else:
            expect(t, prog, args, 2, pattern)
    print("bad usage: %d cases, all exit 2 with a one-line reason" % len(table))


@case()
def test_bad_durations(t):
    n = 0
    for d in BAD_DURATIONS:
        q = re.escape("'%s'" % d)
        expect(t, "ductwatch run", ["run", "--duration", d], 2, r"bad --duration " + q,
               "ductwatch")
        expect(t, "ductwatch-acquire", ["--port", "/dev/null", "--backlog-age", d], 2,
               r"bad --backlog-age " + q)
        expect(t, "ductwatch-record", ["--rotate", d], 2, r"bad --rotate " + q)
        expect(t, "ductwatch-record", ["--fsync", d], 2, r"bad --fsync " + q)
        # detect takes its durations from the config file
        conf = t.path("dur.conf")
        with open(conf, "w") as f:
            f.write("[gating]\nsettle = %s\n" % d)
        expect(t, "ductwatch-detect", ["--config", conf, "--print-config"], 2,
               re.escape(conf) + r":2: \[gating\] settle: ")
        n += 5
    print("bad durations: %d cases, all exit 2" % n)


@case()
def test_bad_config_values(t):
    cases = [
        ("[T1]\ndelta_c = abc\n", 2, r"\[T1\] delta_c: 'abc' is not a number"),
        ("[T1]\ndelta_c = -5\n", 2, r"\[T1\] delta_c: '-5' is not a number in \[0, 10\]"),
        ("# comment\n\n[T1]\nbogus_key = 1\n", 4, r"unknown key 'bogus_key' in section \[T1\]"),
        ("[NOPE]\nx = 1\n", 2, r"unknown key 'x' in section \[NOPE\]"),
        ("[T1]\ndelta_c 0.5\n", 2, r"syntax error"),
    ]
    for i, (text, line, reason) in enumerate(cases):
        conf = t.path("bad%d.conf" % i)
        with open(conf, "w") as f:
            f.write(text)
        err = expect(t, "ductwatch-detect", ["--config", conf], 2,
                     re.escape("%s:%d: " % (conf, line)) + reason)
        check("Try" not in err or "--help" in err, "odd hint %r" % err)
    print("bad config values: %d cases, all exit 2 with FILE:LINE: reason" % len(cases))


@case()
def test_missing_and_unreadable_files(t):
    adir = t.path("adir")
    os.mkdir(adir)
    afile = t.path("afile")
    with open(afile, "w") as f:
        f.write("x\n")
    under = os.path.join(afile, "x")        # ENOTDIR, even for root
    missing = t.path("missing")
    table = [
        ("ductwatch-acquire", ["--port", adir], r"cannot open .*: not a serial device"),
        ("ductwatch-acquire", ["--port", under], r"cannot open .*: Not a directory"),
        ("ductwatch-acquire", ["--port", missing], r"cannot open .*: No such file"),
        ("ductwatch-detect", ["--config", adir], re.escape(adir) + r": Is a directory"),
        ("ductwatch-detect", ["--config", under], r": Not a directory"),
        ("ductwatch-detect", ["--config", missing], r": No such file or directory"),
        ("ductwatch-detect", ["--input", under], r": Not a directory"),
        ("ductwatch-detect", ["--input", adir], re.escape(adir)),
        ("ductwatch-record", ["--dir", afile], r"cannot record into .*: Not a directory"),
        ("ductwatch-record", ["--dir", under], r"cannot record into .*: Not a directory"),
        ("ductwatch-record", ["--recover", adir], r"not an HDF5 file"),
        ("ductwatch-record", ["--recover", under], r"Not a directory"),
        ("ductwatch-record", ["--recover", missing], r"No such file"),
        ("ductwatch-keygen", ["k", "--dir", afile], r"cannot create the file: Not a directory"),
        ("ductwatch-keygen", ["k", "--dir", missing], r"No such file or directory"),
        ("ductwatch-broker", ["--frontend", "ipc://" + t.path("f"), "--backend",
                              "tcp://127.0.0.1:0", "--curve-key", adir, "--allow", adir],
         r"not a regular file"),
        ("ductwatch-broker", ["--frontend", "ipc://" + t.path("f"), "--backend",
                              "tcp://127.0.0.1:0", "--curve-key", missing, "--allow", adir],
         r"no such file"),
    ]
    for prog, args, pattern in table:
        # dw_err's "error: " (keygen writes its messages without it)
        expect(t, prog, args, 1, r"^%s: (error: )?.*%s" % (re.escape(prog), pattern))
    expect(t, "ductwatch run", ["run", "--dir", afile, "--duration", "1s"], 1,
           r"cannot write to .*: Not a directory", "ductwatch")
    expect(t, "ductwatch log", ["log", "feed-start"], 1, r"no ductwatch-acquire is listening",
           "ductwatch")
    print("missing/unreadable files: %d cases, all exit 1 with the path and the reason"
          % (len(table) + 2))


@case()
def test_not_a_session_file(t):
    import h5py
    import numpy
    other = t.path("other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = numpy.arange(3)
        f.attrs["format"] = "something-else"
    text = t.path("text.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n")
    why = r"not a ductwatch session file"
    expect(t, "ductwatch-record", ["--recover", other], 1, why)
    expect(t, "ductwatch recover", ["recover", other], 1, why, "ductwatch")
    expect(t, "ductwatch-record", ["--recover", text], 1, r"not an HDF5 file")
    # sims/replay.c (ductwatch-sim replay) through its test driver
    for f, w in ((other, why), (text, r"not an HDF5 file")):
        rc, out, err = run(t, ["replay-driver", "replay", f, "--out", t.path("out.bin")])
        check(rc == 1 and re.search(w, err), "replay %s: exit %d %r" % (f, rc, err))
        check(not os.path.exists(t.path("out.bin")) or
              os.path.getsize(t.path("out.bin")) == 0, "replay wrote bytes for %s" % f)
    # The file is left as it was.
    with h5py.File(other, "r") as f:
        check(list(f["x"][:]) == [0, 1, 2], "the foreign file changed")


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
