#!/usr/bin/python3
"""Every option every program's --help names is in its man page, and what
the pages point to is installed; README's program table names every
program and README links every document. The programs are found from the build
(meson introspect: every installed executable), so a program added later
is checked without editing this test. ductwatch's own commands (the ones it
runs in-process: their help does not say 'run ductwatch-NAME') are checked
against ductwatch(1). The pages' references: every DOCDIR/NAME they name is
in meson's install plan."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import BUILD_ROOT as BUILD, SOURCE_ROOT as SRC, case, fail, skip  # noqa: E402

OPT = re.compile(r"(?<![\w/.-])(--[a-z][a-z0-9-]*[a-z0-9]|-[a-zA-Z0-9])(?![\w-])")


def introspect(what):
    p = subprocess.run(["meson", "introspect", BUILD, what], capture_output=True, text=True,
                       timeout=60)
    if p.returncode:
        fail("meson introspect %s: %s" % (what, p.stderr))
    return json.loads(p.stdout)


def programs():
    return {t["name"]: t["filename"][0] for t in introspect("--targets")
            if t["type"] == "executable" and t["installed"]}


def help_text(argv):
    p = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, DUCTWATCH_RUNTIME_DIR="/nonexistent"))
    if p.returncode != 0 or not p.stdout.strip():
        fail("%s --help: exit %d, %r" % (" ".join(argv), p.returncode, p.stderr[:200]))
    return p.stdout


def options(text):
    """The options a help text offers: the ones at the start of its lines
    (an option list), and any in its usage lines."""
    found, in_usage = set(), False
    for line in text.splitlines():
        s = line.strip()
        in_usage = line.startswith("Usage") or (in_usage and bool(s))
        if in_usage:
            found.update(OPT.findall(s))
        elif s.startswith("-"):
            found.update(OPT.findall(s.split("  ")[0]))
    return found


def page_source(name):
    for sec in ("1", "5", "8"):
        p = os.path.join(SRC, "man", "%s.%s.scd" % (name, sec))
        if os.path.exists(p):
            return p, open(p).read()
    return None, ""


def page_options(text):
    # scdoc marks options as *--name*; a page may list "*-s, --scenario*"
    return set(OPT.findall(text.replace("*", " ").replace("\\", "")))


def subcommands(duct):
    """ductwatch's commands that run in-process (their help is its own)."""
    out = []
    for line in help_text([duct]).splitlines():
        m = re.match(r"  ([a-z]+)\b", line)
        if m:
            out.append(m.group(1))
    return out


@case(timeout=60)
def case_options():
    man_dir = os.path.join(BUILD, "man")
    if not os.path.exists(os.path.join(man_dir, "ductwatch.1")):
        skip("the man pages were not built (no scdoc)")
    progs = programs()
    if "ductwatch" not in progs:
        fail("no ductwatch in the build's installed executables: %s" % sorted(progs))
    missing = []
    checked = 0
    for name, exe in sorted(progs.items()):
        path, page = page_source(name)
        if not path:
            missing.append("%s: no man page man/%s.1.scd" % (name, name))
            continue
        want = options(help_text([exe]))
        if name == "ductwatch":
            for cmd in subcommands(exe):
                h = help_text([exe, cmd])
                if re.search(r"run ductwatch-%s|ductwatch-%s --recover" % (cmd, "record"), h) \
                        and cmd != "recover":
                    continue
                if "ductwatch-%s" % cmd in progs:
                    continue  # passes through: that program's page has them
                want |= options(h)
        have = page_options(page)
        for o in sorted(want - have):
            missing.append("%s: %s is in --help but not in %s" % (name, o, os.path.basename(path)))
        checked += 1
    # what the generated pages point to
    installed = {os.path.basename(k): v for k, v in introspect("--installed").items()}
    docdir = None
    for k, v in introspect("--installed").items():
        if k.endswith("/docs/report.md"):
            docdir = os.path.dirname(v)
    if not os.path.exists(os.path.join(man_dir, "ductwatch.conf.5")):
        missing.append("no ductwatch.conf(5) was built")
    if not any(v.endswith("/man5/ductwatch.conf.5") for v in installed.values()):
        missing.append("ductwatch.conf(5) is not installed in man5")
    for page in sorted(os.listdir(man_dir)):
        if not re.match(r".*\.[158]$", page):
            continue
        text = open(os.path.join(man_dir, page)).read().replace("\\&", "")
        if re.search(r"(?<![/\w])docs/\w+\.md", text):
            missing.append("%s names docs/*.md of the source tree, not the installed copy" % page)
        for ref in re.findall(r"/[\w/.-]*/doc/ductwatch/(\w[\w-]*\.md)", text):
            if ref not in installed or os.path.dirname(installed[ref]) != docdir:
                missing.append("%s points to %s, which is not installed" % (page, ref))
    # README: every program in its table, every document of docs/ linked
    readme = open(os.path.join(SRC, "README.md")).read()
    rows = [l for l in readme.splitlines() if l.startswith("| `")]
    for name in sorted(progs):
        if not any("`%s" % name in r for r in rows):
            missing.append("README's program table lacks %s" % name)
    for doc in sorted(os.listdir(os.path.join(SRC, "docs"))):
        if doc.endswith(".md") and "(docs/%s)" % doc not in readme:
            missing.append("README does not link docs/%s" % doc)
    if missing:
        fail("\n  ".join([""] + missing))
    print("ok: %d programs' options all in their pages; references installed (docs in %s)"
          % (checked, docdir))


if __name__ == "__main__":
    dwtest.main()
