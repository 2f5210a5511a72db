"""The one way a Python test file runs (docs/testing.md).

A test file marks its cases with @case and ends with

    if __name__ == "__main__":
        dwtest.main()

Then `test_x.py` runs every case, `test_x.py CASE...` only those, and
`test_x.py --list` names them. meson registers one test per case (see
tests/meson.build), so `meson test -C build NAME` runs one case alone.

A file whose cases share one costly world (a running pipeline, a browser)
sets SHARED = True: meson then runs the file as one test, its cases in
order in one process, and `meson test NAME --test-args CASE` (or
`test_x.py CASE`) still runs one case alone, the world made for it.

Exit status: 0 when every case that ran passed, 1 when one failed, 77 (what
meson reports as SKIP) when every case that ran was skipped, 2 on bad usage.
"""
import os
import sys
import time
import traceback

from .core import Fail, Skip

SKIPPED = 77


def case(timeout=30, suites=(), parallel=True, params=None, name=None):
    """Marks a test case. timeout: meson's timeout in seconds (honest: what
    the case takes on a loaded 2-core machine, with room); suites: meson
    suites beyond the folder's own (e.g. 'slow'); parallel=False: meson runs
    it alone; params: one case per value, named NAME-VALUE and called with
    the value; name: instead of the function's name without its case_/test_
    prefix, underscores as dashes."""
    def mark(fn):
        base = name or fn.__name__
        for prefix in ("case_", "test_"):
            if base.startswith(prefix):
                base = base[len(prefix):]
        fn._dwcase = dict(name=base.replace("_", "-"), timeout=timeout, suites=list(suites),
                          parallel=parallel, params=list(params) if params else None)
        return fn
    return mark


def cases_of(module):
    """[(name, function, param or None, meta)] in the order they are defined."""
    out = []
    for obj in list(vars(module).values()):
        meta = getattr(obj, "_dwcase", None)
        if meta is None or getattr(obj, "__module__", None) != module.__name__:
            continue
        if meta["params"] is None:
            out.append((meta["name"], obj, None, meta))
        else:
            for p in meta["params"]:
                out.append(("%s-%s" % (meta["name"], p), obj, p, meta))
    return out


def _usage(prog, names):
    print("usage: %s [--list] [CASE...]\ncases: %s" % (prog, " ".join(names)), file=sys.stderr)
    sys.exit(2)


def _run_one(name, fn, param, fixture):
    args = () if param is None else (param,)
    t0 = time.monotonic()
    print("== %s" % name, flush=True)
    try:
        if fixture is None:
            fn(*args)
        else:
            with fixture() as fx:
                fn(fx, *args)
    except Skip as e:
        print("SKIP %s: %s" % (name, e), flush=True)
        return "skip"
    except Fail as e:
        print("FAIL %s: %s" % (name, e), flush=True)
        return "fail"
    except Exception:  # noqa: BLE001  (a test that crashes is a failed test)
        traceback.print_exc()
        print("FAIL %s: %s" % (name, sys.exc_info()[1]), flush=True)
        return "fail"
    print("ok   %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
    return "ok"


def main(fixture=None, argv=None, finish=None):
    """Runs the cases of the __main__ module named on the command line (all
    when none is), each with a fresh fixture() (a context manager whose
    value is passed to the case) when one is given; then finish(failed),
    whatever happened (a SHARED file's world torn down, its logs shown)."""
    argv = sys.argv if argv is None else argv
    module = sys.modules["__main__"]
    cases = cases_of(module)
    names = [c[0] for c in cases]
    args = argv[1:]
    if "-h" in args or "--help" in args:
        _usage(argv[0], names)
    if args == ["--list"]:
        print("\n".join(names))
        sys.exit(0)
    unknown = [a for a in args if a not in names]
    if unknown:
        print("%s: no case %s" % (argv[0], " ".join(unknown)), file=sys.stderr)
        _usage(argv[0], names)
    chosen = [c for c in cases if not args or c[0] in args]
    results = []
    try:
        results = [_run_one(n, fn, p, fixture) for n, fn, p, _ in chosen]
    finally:
        if finish:
            finish("fail" in results or len(results) < len(chosen))
    if "fail" in results:
        sys.exit(1)
    sys.exit(SKIPPED if results and all(r == "skip" for r in results) else 0)


def list_for_meson(paths):
    """One line per case of each file: INDEX NAME TIMEOUT PARALLEL SUITES
    (INDEX into paths, PARALLEL 1 or 0, SUITES comma-separated or '-');
    one line with NAME '-' for a SHARED file.
    Imports each file without running it."""
    import importlib.util
    for i, path in enumerate(paths):
        modname = "_dwtest_list_%d" % i
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        spec.loader.exec_module(mod)
        found = cases_of(mod)
        if not found:
            raise SystemExit("%s: no @case in this file" % path)
        if getattr(mod, "SHARED", False):
            # one test for the file: the sum of its timeouts, its suites
            suites = sorted(set(s for _, _, _, m in found for s in m["suites"]))
            print("%d - %d %d %s" % (i, sum(m["timeout"] for _, _, _, m in found),
                                     1 if all(m["parallel"] for _, _, _, m in found) else 0,
                                     ",".join(suites) or "-"))
            continue
        for n, _, _, meta in found:
            print("%d %s %d %d %s" % (i, n, meta["timeout"], 1 if meta["parallel"] else 0,
                                      ",".join(meta["suites"]) or "-"))
