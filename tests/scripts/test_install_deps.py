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

SCRIPT = os.path.join(os.environ["DW_SOURCE_ROOT"], "scripts", "install-deps.sh")


def main():
    d = tempfile.mkdtemp(prefix="dwdeps-")
    try:
        for tool in ("bash", "id", "dpkg-query"):
            path = shutil.which(tool)
            if not path:
                print("no %s here (not Debian?): skipped" % tool)
                return 77
            os.symlink(path, os.path.join(d, tool))
        env = {"PATH": d, "HOME": d, "LANG": "C"}
        for args in ([], ["--build"]):
            p = subprocess.run([os.path.join(d, "bash"), SCRIPT] + args, env=env,
                               capture_output=True, text=True, timeout=60)
            if "installing" in p.stdout:
                print("this machine lacks %s: skipped" % p.stdout.split("installing", 1)[1].strip())
                return 77
            if p.returncode != 0 or "packages are installed" not in p.stdout:
                print("FAIL: install-deps.sh %s with everything installed: exit %d\n%s%s"
                      % (" ".join(args), p.returncode, p.stdout, p.stderr))
                return 1
            print("install-deps.sh %s: %s" % (" ".join(args), p.stdout.strip()))
    finally:
        shutil.rmtree(d)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
