"""Helpers for the `ductwatch report` tests: session files with known
contents written by tests/tools/mksession (storage's real writer), the
report run as a user runs it, and the page parsed back into elements."""
import html.parser
import re
import subprocess

from .core import Fail, check
from .procs import prog


def mksession(path, *args):
    """Writes a session; returns mksession's "key value" lines as a dict."""
    p = subprocess.run([prog("mksession"), path] + list(args), capture_output=True, timeout=300)
    check(p.returncode == 0, "mksession failed: %r" % p.stderr)
    out = {}
    for line in p.stdout.decode().splitlines():
        k, v = line.split()
        out[k] = int(v)
    return out


def ductwatch(*args, timeout=300):
    """Runs `ductwatch ARGS` (report, info, export ...); returns (status,
    stdout bytes, stderr text)."""
    p = subprocess.run([prog("ductwatch")] + list(args), capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def report(*args, timeout=300):
    """Runs `ductwatch report ARGS`; returns (status, stdout, stderr)."""
    return ductwatch("report", *args, timeout=timeout)


VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "embed",
        "source", "track", "wbr"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []
        self.text = []

    def all_text(self):
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        for e in self.iter():
            if tag and e.tag != tag:
                continue
            if cls and cls not in e.attrs.get("class", "").split():
                continue
            if any(e.attrs.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            yield e


class Page(html.parser.HTMLParser):
    """A strict little tree builder: every non-void element must be closed
    by its own end tag, in order."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", [], None)
        self.cur = self.root
        self.errors = []
        self.doctype = None
        self.feed(text)
        self.close()
        if self.cur is not self.root:
            self.errors.append("unclosed <%s>" % self.cur.tag)

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.cur)
        self.cur.children.append(e)
        if tag not in VOID:
            self.cur = e

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Element(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.cur.tag != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.cur.tag))
            return
        self.cur = self.cur.parent

    def handle_data(self, data):
        self.cur.text.append(data)


def parse(path_or_bytes):
    data = path_or_bytes
    if isinstance(data, str):
        with open(data, "rb") as f:
            data = f.read()
    text = data.decode("utf-8")  # strict: the page must be valid UTF-8
    page = Page(text)
    check(not page.errors, "HTML not well formed: %s" % page.errors[:5])
    check(page.doctype and page.doctype.lower() == "doctype html", "no <!DOCTYPE html>")
    return page, text


def path_points(d):
    """Absolute points of an SVG path made of M, L, l and Z (with implicit
    repeated pairs), as the report writes them."""
    toks = re.findall(r"[MLlZz]|-?\d+(?:\.\d+)?", d)
    pts, cmd, i, x, y = [], None, 0, 0.0, 0.0
    start = (0.0, 0.0)
    while i < len(toks):
        t = toks[i]
        if t in "MLlZz":
            cmd = t
            i += 1
            if t in "Zz":
                x, y = start
            continue
        a, b = float(toks[i]), float(toks[i + 1])
        i += 2
        if cmd == "M":
            x, y = a, b
            start = (x, y)
            cmd = "L"
        elif cmd == "L":
            x, y = a, b
        elif cmd == "l":
            x, y = x + a, y + b
        else:
            raise Fail("unexpected path command %r" % cmd)
        pts.append((x, y))
    return pts


class Chart:
    """A time series chart's mapping from path units back to data."""

    def __init__(self, svg):
        a = svg.attrs
        self.svg = svg
        self.ymin, self.ymax = float(a["data-ymin"]), float(a["data-ymax"])
        self.plot_h = float(a["data-plot-height"])
        self.plot_left = float(a["data-plot-left"])
        self.sx = float(a["data-x-scale"])
        self.buckets = int(a["data-buckets"])
        self.bucket_us = int(a["data-bucket-us"])
        self.origin_us = int(a["data-origin-us"])

    def value(self, y_units):
        return self.ymax - (y_units / 10.0) / self.plot_h * (self.ymax - self.ymin)

    def hours(self, x_units):
        """Session time (garment clock since the first record) of x, in h."""
        return (self.origin_us + x_units * self.bucket_us) / 3.6e9

    def hours_of_px(self, x_px):
        return self.hours((x_px - self.plot_left) / self.sx)

    def resolution(self):
        """One path unit (a tenth of a px) in data units."""
        return (self.ymax - self.ymin) / (self.plot_h * 10.0)


def device_hours(elem):
    """The garment time a report's time (span.when) stands for, in hours."""
    w = elem if "when" in elem.attrs.get("class", "").split() else next(
        elem.find_all("span", cls="when"))
    return int(w.attrs["data-device-us"]) / 3.6e9


def heatmap_values(svg):
    """{zone: (side, value)} of a heat map; value is None where grey."""
    out = {}
    for p in svg.find_all("path", cls="zone"):
        v = p.attrs["data-value"]
        out[int(p.attrs["data-zone"])] = (p.attrs["data-side"], None if v == "nan" else float(v))
    return out


def charts(page, qty, side):
    return [Chart(s) for s in page.root.find_all("svg", cls="chart", data_qty=qty,
                                                 data_side=side)]
