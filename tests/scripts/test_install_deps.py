#!/usr/bin/python3
"""scripts/install-deps.sh (which scripts/main.sh and scripts/test.sh run
first) leaves apt alone when every package is installed: run with a PATH
that holds bash, id and dpkg-query but no apt-get and no sudo, it must
succeed and say so, for the full list and for --build. Skipped (77) when
this machine lacks a package (the script would rightly need apt)."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, fail, skip, source  # noqa: E402

SCRIPT = source("scripts", "install-deps.sh")


@case(timeout=60)
def case_apt_left_alone():
    d = tempfile.mkdtemp(prefix="dwdeps-")
    try:
        for tool in ("bash", "id", "dpkg-query"):
            path = shutil.which(tool)
            if not path:
                skip("no %s here (not Debian?)" % tool)
            os.symlink(path, os.path.join(d, tool))
        env = {"PATH": d, "HOME": d, "LANG": "C"}
        for args in ([], ["--build"]):
            p = subprocess.run([os.path.join(d, "bash"), SCRIPT] + args, env=env,
                               capture_output=True, text=True, timeout=60)
            if "installing" in p.stdout:
                skip("this machine lacks %s" % p.stdout.split("installing", 1)[1].strip())
            if p.returncode != 0 or "packages are installed" not in p.stdout:
                fail("install-deps.sh %s with everything installed: exit %d\n%s%s"
                     % (" ".join(args), p.returncode, p.stdout, p.stderr))
            print("install-deps.sh %s: %s" % (" ".join(args), p.stdout.strip()))
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    dwtest.main()
