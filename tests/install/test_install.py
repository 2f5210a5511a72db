"""`meson install` puts every promised file where it belongs: the programs,
one man page per program, the commented default configuration, the systemd
units (whose paths point at what was installed), the udev rule, the system
user and the defaults file. Checked twice: the real install of this build
into a DESTDIR, and where a distribution build (prefix /usr) would install
(a configured, unbuilt tree asked with `meson introspect --installed`).
Every case runs alone: test_install.py [--list] [CASE...]."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import BUILD_ROOT, SOURCE_ROOT, case, check, skip  # noqa: E402

PROGRAMS = ["ductwatch", "ductwatch-acquire", "ductwatch-detect", "ductwatch-record",
            "ductwatch-sim", "ductwatch-keygen", "ductwatch-broker", "ductwatch-web"]
UNITS = ["ductwatch-acquire@.service", "ductwatch-detect.service", "ductwatch-record.service",
         "ductwatch-web.service"]


def meson():
    m = shutil.which("meson")
    if not m:
        skip("meson is not on PATH")
    return m


def options(meson, build):
    p = subprocess.run([meson, "introspect", build, "--buildoptions"], capture_output=True,
                       check=True, timeout=60)
    return {o["name"]: o["value"] for o in json.loads(p.stdout)}


def programs_of(meson, build):
    """The executables this build installs."""
    p = subprocess.run([meson, "introspect", build, "--targets"], capture_output=True,
                       check=True, timeout=60)
    return {t["name"] for t in json.loads(p.stdout)
            if t["type"] == "executable" and t.get("installed")}


def places(opt):
    prefix = opt["prefix"]
    sysconf = os.path.join(prefix, opt["sysconfdir"])
    return {
        "bin": os.path.join(prefix, opt["bindir"]),
        "man1": os.path.join(prefix, opt["mandir"], "man1"),
        "conf": os.path.join(sysconf, "ductwatch", "ductwatch.conf"),
        "default": os.path.join(sysconf, "default", "ductwatch"),
        # systemd and udev search PREFIX/lib/... for /usr; for /usr/local the
        # docs say where to link them (docs/operations.md).
        "units": os.path.join(prefix, "lib", "systemd", "system"),
        "udev": os.path.join(prefix, "lib", "udev", "rules.d", "70-ductwatch.rules"),
        "sysusers": os.path.join(prefix, "lib", "sysusers.d", "ductwatch.conf"),
    }


def expected_files(pl, progs):
    files = [os.path.join(pl["bin"], p) for p in progs]
    files += [os.path.join(pl["man1"], p + ".1") for p in progs]
    files += [pl["conf"], pl["default"], pl["udev"], pl["sysusers"]]
    files += [os.path.join(pl["units"], u) for u in UNITS]
    return files


def check_real_install(meson, build, src):
    opt = options(meson, build)
    progs = sorted(set(PROGRAMS) | programs_of(meson, build))
    pl = places(opt)
    dest = tempfile.mkdtemp(prefix="dwinstall-")
    try:
        p = subprocess.run([meson, "install", "-C", build, "--destdir", dest, "--no-rebuild",
                            "--quiet"], capture_output=True, timeout=120)
        check(p.returncode == 0, "meson install failed: %s" % p.stderr.decode()[-800:])

        def at(path):
            return dest + path

        for f in expected_files(pl, progs):
            check(os.path.isfile(at(f)), "not installed: %s" % f)
        for prog in progs:
            check(os.access(at(os.path.join(pl["bin"], prog)), os.X_OK), "%s not executable" % prog)
            man = open(at(os.path.join(pl["man1"], prog + ".1"))).read()
            check(re.search(r"^\.TH \"?%s\"? \"?1\"?" % re.escape(prog), man, re.M),
                  "%s.1 is not a man page of %s" % (prog, prog))
        # Every program installed has its man page, and no page lacks its program.
        bins = set(os.listdir(at(pl["bin"])))
        pages = {n[:-2] for n in os.listdir(at(pl["man1"])) if n.endswith(".1")}
        check(bins <= pages, "programs without a man page: %s" % sorted(bins - pages))
        check(pages <= bins, "man pages without a program: %s"
              % sorted(pages - bins))

        # The configuration: commented, the project's, accepted by the installed detect.
        conf = at(pl["conf"])
        text = open(conf).read()
        check(text == open(os.path.join(src, "processing", "ductwatch.conf")).read(),
              "installed ductwatch.conf differs from processing/ductwatch.conf")
        check(sum(1 for l in text.splitlines() if l.startswith("#")) >= 10, "config not commented")
        det = at(os.path.join(pl["bin"], "ductwatch-detect"))
        p = subprocess.run([det, "--config", conf, "--print-config"], capture_output=True,
                           timeout=30)
        check(p.returncode == 0, "installed detect refuses the installed config: %s" % p.stderr)

        # Units: every path in them is one that was installed.
        for u in UNITS:
            text = open(at(os.path.join(pl["units"], u))).read()
            check(not re.search(r"@[A-Z_]+@", text), "%s: unsubstituted @VAR@" % u)
            (cmd,) = re.findall(r"^ExecStart=(.*)$", text, re.M)
            exe = cmd.split()[0]
            check(exe == os.path.join(pl["bin"], u.split("@")[0].split(".")[0]),
                  "%s runs %s" % (u, exe))
            check(os.path.isfile(at(exe)), "%s: %s is not installed" % (u, exe))
            for envf in re.findall(r"^EnvironmentFile=-?(\S+)", text, re.M):
                check(envf == pl["default"], "%s reads %s, installed is %s" % (u, envf, pl["default"]))
            for c in re.findall(r"--config (\S+)", cmd):
                check(c == pl["conf"], "%s: --config %s, installed is %s" % (u, c, pl["conf"]))
        check("--config " + pl["conf"] in open(at(os.path.join(pl["units"], UNITS[1]))).read(),
              "detect's unit does not use the installed configuration")
        rule = open(at(pl["udev"])).read()
        check('SYMLINK+="ductwatch-' in rule and "ductwatch-acquire@ductwatch-" in rule,
              "udev rule does not name the port and start the acquire unit")
        check(re.search(r"^u ductwatch\b", open(at(pl["sysusers"])).read(), re.M),
              "sysusers file does not create the ductwatch user")

        # The installed front command runs and knows its commands.
        p = subprocess.run([at(os.path.join(pl["bin"], "ductwatch")), "--help"],
                           capture_output=True, timeout=10)
        check(p.returncode == 0 and b"report FILE.h5" in p.stdout, "installed ductwatch --help")
        print("ok: %s installed under %s (%d files)" % (opt["prefix"], dest,
                                                        len(expected_files(pl, progs))))
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def check_distribution_layout(meson, src):
    d = tempfile.mkdtemp(prefix="dwinstall-usr-")
    try:
        b = os.path.join(d, "build")
        p = subprocess.run([meson, "setup", b, src, "--prefix=/usr"], capture_output=True,
                           timeout=120)
        check(p.returncode == 0, "meson setup --prefix=/usr failed: %s" % p.stdout[-800:])
        p = subprocess.run([meson, "introspect", b, "--installed"], capture_output=True,
                           check=True, timeout=60)
        installed = set(json.loads(p.stdout).values())
        opt = options(meson, b)
        check(opt["sysconfdir"] == "/etc", "sysconfdir for /usr is %s" % opt["sysconfdir"])
        pl = places(opt)
        progs = sorted(set(PROGRAMS) | programs_of(meson, b))
        want = expected_files(pl, progs)
        check(pl["conf"] == "/etc/ductwatch/ductwatch.conf" and pl["bin"] == "/usr/bin" and
              pl["units"] == "/usr/lib/systemd/system" and
              pl["udev"] == "/usr/lib/udev/rules.d/70-ductwatch.rules", "places: %s" % pl)
        missing = [f for f in want if f not in installed]
        check(not missing, "a /usr build would not install: %s" % missing)
        unit = open(os.path.join(b, "data", "ductwatch-detect.service")).read()
        check("ExecStart=/usr/bin/ductwatch-detect --config /etc/ductwatch/ductwatch.conf" in unit
              and "EnvironmentFile=-/etc/default/ductwatch" in unit,
              "/usr build's detect unit: %s" % re.findall(r"^(?:ExecStart|EnvironmentFile)=.*",
                                                          unit, re.M))
        print("ok: a /usr build installs to /usr/bin, /usr/share/man/man1, /etc/ductwatch, "
              "/usr/lib/systemd/system, /usr/lib/udev/rules.d")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case(timeout=120, parallel=False)
def case_destdir():
    check_real_install(meson(), BUILD_ROOT, SOURCE_ROOT)


@case(timeout=120)
def case_distribution_layout():
    check_distribution_layout(meson(), SOURCE_ROOT)


if __name__ == "__main__":
    dwtest.main()
