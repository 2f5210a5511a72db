#!/usr/bin/python3
"""Checks the C sources against the rules of docs/CODING_STYLE.md that a
script can check. One mode per rule:

  check_style.py includes [FILE...]   include order, #pragma once in headers
  check_style.py gotos [FILE...]      goto labels: out or fail only
  check_style.py functions [FILE...]  no function over 80 lines between braces

Without FILEs: every .c and .h that git tracks (every one below the
source root when git is not there). Prints one line per finding and exits 1
when there is one, 0 when there is none. The lists below name the files
that break a rule for now, each with the reason; one that no longer
breaks it is named in a note (not a failure: the files listed are being
changed elsewhere), so that the list can only shrink."""
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MAX_LINES = 80
LABELS = ("out", "fail")

# Exceptions, each with its reason as the value (empty: the whole tree holds
# every rule since issue 16's merges). A file or function named here is
# reported as skipped, and named again once it holds the rule.
SKIP_INCLUDES = {
}
SKIP_GOTOS = {
}
# "path:function"
SKIP_FUNCTIONS = {
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# Includes under #if are the platform's (crc32c.c): they stay where the
# condition is, outside the order. "#pragma once"/include guards are not #if.
PREPROC_IF = re.compile(r"^\s*#\s*(ifdef|ifndef|if|elif|else|endif)\b")
PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\b")
GOTO = re.compile(r"\bgoto\s+([A-Za-z_]\w*)\s*;")
# A function's name: the last identifier before "(" in its head.
BRACE_AFTER_HEAD = re.compile(r"\)\s*\{\s*$")
FUNC_NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")


def tracked_sources():
    try:
        out = subprocess.run(["git", "ls-files", "*.c", "*.h"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return [f for f in out.split("\n") if f]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for top, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
            found += [os.path.relpath(os.path.join(top, f), ROOT)
                      for f in files if f.endswith((".c", ".h"))]
        return sorted(found)


def read_lines(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read().split("\n")


def strip_comments(lines):
    """The lines with /* */ and // comments and string contents blanked, so
    that braces and words in them do not count."""
    out, in_comment = [], False
    for line in lines:
        res, i = [], 0
        while i < len(line):
            if in_comment:
                end = line.find("*/", i)
                if end < 0:
                    i = len(line)
                else:
                    in_comment, i = False, end + 2
            elif line.startswith("/*", i):
                in_comment, i = True, i + 2
            elif line.startswith("//", i):
                i = len(line)
            elif line[i] in "\"'":
                q, j = line[i], i + 1
                while j < len(line) and line[j] != q:
                    j += 2 if line[j] == "\\" else 1
                res.append(q + q)
                i = j + 1
            else:
                res.append(line[i])
                i += 1
        out.append("".join(res))
    return out


def check_includes(path, lines):
    """System and library headers (<>) first, then project headers (""),
    each group in byte order; <cmocka.h> may close the first group.
    Includes inside #if blocks are not ordered."""
    found = []
    seen_project = False
    system, project = [], []
    depth = 0
    for n, line in enumerate(lines, 1):
        m = INCLUDE.match(line)
        d = PREPROC_IF.match(line)
        if d:
            depth += -1 if d.group(1) == "endif" else 1 if d.group(1).startswith("if") else 0
        if not m or depth > 0:
            continue
        kind, name = m.groups()
        if kind == "<":
            if seen_project:
                found.append("%s:%d: <%s> after a project header" % (path, n, name))
            system.append((n, name))
        else:
            seen_project = True
            project.append((n, name))
    if path.endswith(".h") and not any(PRAGMA_ONCE.match(line) for line in lines):
        found.append("%s:1: no #pragma once (headers use it, not include guards)" % path)
    plain = [s for s in system if s[1] != "cmocka.h"]
    cm = [s for s in system if s[1] == "cmocka.h"]
    if cm and plain and cm[0][0] < plain[-1][0]:
        found.append("%s:%d: <cmocka.h> before <%s> (it comes last of its group)"
                     % (path, cm[0][0], plain[-1][1]))
    for group, open_, close in ((plain, "<", ">"), (project, '"', '"')):
        for (_, a), (n, b) in zip(group, group[1:]):
            if b < a:
                found.append("%s:%d: %s%s%s before %s%s%s (sort by name)"
                             % (path, n, open_, a, close, open_, b, close))
                break
    return found


def check_gotos(path, lines):
    found = []
    for n, line in enumerate(strip_comments(lines), 1):
        for label in GOTO.findall(line):
            if label not in LABELS:
                found.append("%s:%d: goto %s (labels are out: or fail:)" % (path, n, label))
    return found


def functions(lines):
    """(name, first line of the head, body lines) for each function
    definition: a head ending at a "{" in the first column (or at the end of
    a head's line), up to the "}" in the first column that closes it."""
    code = strip_comments(lines)
    res, head = [], None
    for i, line in enumerate(code):
        if line.startswith("{") and head is None:
            j = i
            while j > 0 and code[j - 1].strip() and not code[j - 1].startswith(("#", "}")) \
                    and not code[j - 1].rstrip().endswith((";", "}")):
                j -= 1
            text = " ".join(code[j:i])
            name = FUNC_NAME.search(text)
            # not an initializer (x = {...}) nor a struct or enum body
            if name and "=" not in text.split("(")[0]:
                head = (name.group(1), j + 1, i)
        elif head is None and line[:1].isalpha() and BRACE_AFTER_HEAD.search(line) \
                and "=" not in line.split("(")[0]:
            # int f(void) { ... }: the brace at the end of the head
            name = FUNC_NAME.search(line)
            if name:
                head = (name.group(1), i + 1, i)
        elif line.startswith("}") and head is not None:
            res.append((head[0], head[1], i - head[2] - 1))
            head = None
    return res


def check_functions(path, lines, report_all=False):
    found = []
    for name, first, body in functions(lines):
        if body > MAX_LINES or report_all:
            found.append((path, first, name, body))
    return found


def main(argv):
    if len(argv) < 2 or argv[1] not in ("includes", "gotos", "functions"):
        sys.stderr.write(__doc__)
        return 2
    mode, files = argv[1], argv[2:]
    explicit = bool(files)
    files = files or tracked_sources()
    skip = {"includes": SKIP_INCLUDES, "gotos": SKIP_GOTOS, "functions": {}}[mode]
    problems, skipped_ok = [], []
    for path in files:
        if path.startswith(ROOT + os.sep):
            path = os.path.relpath(path, ROOT)
        lines = read_lines(path)
        if mode == "functions":
            found = []
            for p, first, name, body in check_functions(path, lines):
                key = "%s:%s" % (p, name)
                if key in SKIP_FUNCTIONS and not explicit:
                    continue
                found.append("%s:%d: %s() is %d lines (at most %d)"
                             % (p, first, name, body, MAX_LINES))
            for key in SKIP_FUNCTIONS:
                p, name = key.split(":")
                if p == path and not explicit and not any(
                        n == name and b > MAX_LINES for n, _, b in functions(lines)):
                    skipped_ok.append("%s: %s() is short now: take it off SKIP_FUNCTIONS"
                                      % (path, name))
        else:
            found = (check_includes if mode == "includes" else check_gotos)(path, lines)
            if path in skip and not explicit:
                if not found:
                    skipped_ok.append("%s: holds the rule now: take it off the skip list"
                                      % path)
                continue
        problems += found
    for line in problems:
        print(line)
    for line in skipped_ok:
        print("note: " + line)
    if not explicit:
        for path, why in sorted(skip.items()):
            print("skipped %s: %s" % (path, why))
        if mode == "functions":
            for key, why in sorted(SKIP_FUNCTIONS.items()):
                print("skipped %s: %s" % (key, why))
    if problems:
        return 1
    print("%s: %d files hold the rule" % (mode, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
