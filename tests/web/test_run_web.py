"""`ductwatch run` starts ductwatch-web too: 'web: URL' among its first
lines, the page and the API behind that URL with the run's garment; none
with --no-web; --web-listen and --no-web exclude each other."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, children  # noqa: E402
from weblib import check, get_json, request, wait_for  # noqa: E402


class Page:
    def __init__(self, url):
        m = re.match(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{40})$", url)
        check(m, "web: %r" % url)
        self.port, self.token = int(m.group(1)), m.group(2)


def start(t, *args):
    return t.spawn(["ductwatch", "run", "--duration", "2h", "--speed", "100", "--no-report",
                    "--dir", t.path("sessions")] + list(args), cwd=t.dir)


@case(timeout=60)
def test_web_url_among_first_lines(t):
    out = start(t)
    try:
        web_url_among_first_lines(out)
    finally:
        out.stop(60)   # SIGTERM: run stops its stages


def web_url_among_first_lines(out):
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


@case(timeout=60)
def test_no_web(t):
    p = start(t, "--no-web")
    try:
        lines = [p.line(20) for _ in range(4)]
        check(not [l for l in lines if l.startswith("web: ")], "--no-web printed %s" % lines)
        time.sleep(1)
        kids = children(p.pid)
        check("ductwatch-web" not in kids, "ductwatch-web runs: %s" % kids)
    finally:
        p.stop(60)


@case()
def test_bad_usage(t):
    p = t.run(["ductwatch", "run", "--no-web", "--web-listen", "127.0.0.1:1"], timeout=20)
    check(p.returncode == 2 and "excludes" in p.stderr, "%d %s" % (p.returncode, p.stderr))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
