#!/usr/bin/python3
"""Every C header of the source tree, one per line, relative to its root
(for tests/common/meson.build's self-containment check). Build
directories (those with a meson-private folder) and hidden folders are left
out.

With --check HEADER...: exits 1, naming them, when the tree has headers
that are not in the list given (the build was configured before they were
added: reconfigure)."""
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def headers():
    out = []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(x for x in dirs if not x.startswith(".") and
                         not os.path.isdir(os.path.join(d, x, "meson-private")))
        out += [os.path.relpath(os.path.join(d, f), ROOT) for f in sorted(files)
                if f.endswith(".h")]
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        missing = sorted(set(headers()) - set(sys.argv[2:]))
        if missing:
            print("not checked (reconfigure the build): " + " ".join(missing))
            sys.exit(1)
        print("%d headers, all checked" % len(sys.argv[2:]))
    else:
        print("\n".join(headers()))
