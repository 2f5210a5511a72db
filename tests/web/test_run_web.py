"""`ductwatch run` starts ductwatch-web too: 'web: URL' among its first
lines, the page and the API behind that URL with the run's garment; none
with --no-web; --web-listen and --no-web exclude each other."""
import os
import re
import subprocess
import sys
import tempfile
import time

from weblib import Lines, check, get_json, request, run_cases, wait_for

DUCTWATCH = os.environ["DW_DUCTWATCH"]
TMP = tempfile.mkdtemp(prefix="dwweb-run-")


class Page:
    def __init__(self, url):
        m = re.match(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{40})$", url)
        check(m, "web: %r" % url)
        self.port, self.token = int(m.group(1)), m.group(2)


def start(*args):
    d = tempfile.mkdtemp(dir=TMP)
    run = os.path.join(d, "run")
    os.mkdir(run, 0o700)
    env = dict(os.environ, DUCTWATCH_RUNTIME_DIR=run)
    p = subprocess.Popen([DUCTWATCH, "run", "--duration", "2h", "--speed", "100", "--no-report",
                          "--dir", os.path.join(d, "sessions")] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=d)
    return p, Lines(p)


def stop(p):
    p.terminate()
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def test_web_url_among_first_lines():
    p, out = start()
    try:
        web = None
        for i in range(6):
            line = out.line(20)
            if line.startswith("web: "):
                web = Page(line[5:])
                break
        check(web, "no 'web:' line among the first lines: %s" % out.lines)
        st, h, body = request(web, "GET", "/", auth=False)
        check(st == 200 and b"app.js" in body, "the page: %d" % st)
        g = wait_for(lambda: get_json(web, "/api/garments")["garments"], 15, "the run's garment")
        check(g[0]["device"] == "dwsim-01", "garments %s" % g)
        st, _, body = request(web, "POST", "/api/events", body={"kind": "feed-start", "side": "left"})
        check(st == 200, "a tap through the run's web server: %d %s" % (st, body))
    finally:
        stop(p)


def test_no_web():
    p, out = start("--no-web")
    try:
        lines = [out.line(20) for _ in range(4)]
        check(not [l for l in lines if l.startswith("web: ")], "--no-web printed %s" % lines)
        time.sleep(1)
        ps = subprocess.run(["pgrep", "-P", str(p.pid), "-l"], capture_output=True, text=True).stdout
        check("ductwatch-web" not in ps, "ductwatch-web runs: %s" % ps)
    finally:
        stop(p)


def test_bad_usage():
    p = subprocess.run([DUCTWATCH, "run", "--no-web", "--web-listen", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=20)
    check(p.returncode == 2 and "excludes" in p.stderr, "%d %s" % (p.returncode, p.stderr))


if __name__ == "__main__":
    sys.exit(run_cases([test_bad_usage, test_web_url_among_first_lines, test_no_web]))
