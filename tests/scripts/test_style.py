#!/usr/bin/python3
"""docs/CODING_STYLE.md's checkable rules hold over the tree
(scripts/check_style.py): include order, goto labels out:/fail: only,
no function over 80 lines. The checker itself is checked on small files
that break each rule, so that a checker that finds nothing cannot pass."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, fail, source  # noqa: E402

CHECKER = source("scripts", "check_style.py")

BAD = {
    "includes": '#include "frame.h"\n#include <stdio.h>\n',
    "gotos": "int f(int x)\n{\n    if (x)\n        goto done;\n    return 1;\ndone:\n"
             "    return 0;\n}\n",
    # both brace styles: on its own line, and at the end of the head
    "functions": "int f(int x)\n{\n" + "    x++;\n" * 81 + "    return x;\n}\n"
                 "int g(int x) {\n" + "    x--;\n" * 81 + "    return x;\n}\n",
}
# what the checker must name in BAD[mode]
NAMED = {"includes": ["<stdio.h>"], "gotos": ["goto done"], "functions": ["f()", "g()"]}
GOOD = {
    "includes": "#include <stdio.h>\n#include <string.h>\n\n#include <cmocka.h>\n"
                '#include "dwcmocka.h"\n#include "frame.h"\n',
    "gotos": "int f(int x)\n{\n    if (x)\n        goto fail;\n    return 1;\nfail:\n"
             "    return 0;\n}\n",
    "functions": "int f(int x)\n{\n" + "    x++;\n" * 79 + "    return x;\n}\n",
}


def run(*args):
    return subprocess.run([sys.executable, CHECKER] + list(args), capture_output=True,
                          text=True, timeout=60)


def tree(mode):
    p = run(mode)
    print(p.stdout, end="")
    if p.returncode != 0:
        fail("scripts/check_style.py %s: exit %d\n%s%s" % (mode, p.returncode, p.stdout,
                                                            p.stderr))


@case(timeout=60)
def case_includes():
    tree("includes")


@case(timeout=60)
def case_gotos():
    tree("gotos")


@case(timeout=60)
def case_functions():
    tree("functions")


@case(timeout=60, params=("includes", "gotos", "functions"))
def case_checker_finds(mode):
    with tempfile.TemporaryDirectory(prefix="dwstyle-") as d:
        bad, good = os.path.join(d, "bad.c"), os.path.join(d, "good.c")
        with open(bad, "w") as f:
            f.write(BAD[mode])
        with open(good, "w") as f:
            f.write(GOOD[mode])
        p = run(mode, bad)
        check(p.returncode == 1 and bad in p.stdout and all(n in p.stdout for n in NAMED[mode]),
              "%s: a file that breaks the rule passed (exit %d)\n%s" % (mode, p.returncode,
                                                                       p.stdout))
        p = run(mode, good)
        check(p.returncode == 0, "%s: a file that holds the rule failed (exit %d)\n%s"
              % (mode, p.returncode, p.stdout))


if __name__ == "__main__":
    dwtest.main()
