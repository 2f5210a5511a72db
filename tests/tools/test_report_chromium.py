"""`ductwatch report` rendered by a real browser (Debian's chromium,
headless): the screenshot is a picture, not a blank page, with the red alert
markers drawn, and the DOM after rendering still has every alert row and
marker. Skipped (77) only when chromium is not installed."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, skip  # noqa: E402
from dwtest.report import mksession, parse, report  # noqa: E402
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ALERT_RED = (0xd7, 0x19, 0x1c)


def chromium():
    for c in ("chromium", "chromium-browser"):
        p = shutil.which(c) or (os.path.exists("/usr/bin/" + c) and "/usr/bin/" + c)
        if p:
            return p
    return None


def run_chromium(exe, d, *args):
    prof = tempfile.mkdtemp(prefix="profile-", dir=d)
    p = subprocess.run([exe] + FLAGS + ["--user-data-dir=" + prof] + list(args),
                       capture_output=True, timeout=180, cwd=d)
    return p


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            check(depth == 8 and ctype in (2, 6) and interlace == 0,
                  "PNG format %d/%d/%d not handled" % (depth, ctype, interlace))
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xff
            elif f == 2:
                line[i] = (line[i] + b) & 0xff
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 0xff
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


@case(timeout=180)
def case_rendered(t):
    d = t.dir
    exe = chromium()
    if not exe:
        skip("chromium is not installed (scripts/install-deps.sh installs it)")
    sess = os.path.join(d, "s.h5")
    mksession(sess, "--hours", "2")
    html = os.path.join(d, "s.html")
    st, _, err = report(sess, "-o", html, "-q")
    check(st == 0, "report failed: %s" % err)
    page, _ = parse(html)
    n_markers = len(list(page.root.find_all("g", cls="alert-marker")))
    n_rows = len(list(page.root.find_all("tr", cls="alert-row")))
    check(n_markers == 8 and n_rows == 4, "page: %d markers, %d rows" % (n_markers, n_rows))

    png = os.path.join(d, "s.png")
    # tall enough to reach the charts below the summary and the tables
    p = run_chromium(exe, d, "--screenshot=" + png, "--window-size=1280,4200",
                     "file://" + html)
    check(p.returncode == 0 and os.path.exists(png),
          "chromium screenshot failed (%d): %s" % (p.returncode, p.stderr[-500:]))
    w, h, rows = png_pixels(png)
    check((w, h) == (1280, 4200), "screenshot is %dx%d" % (w, h))
    colours, non_white = set(), 0
    run, longest = [0] * w, [0] * w
    for row in rows:
        for x, px in enumerate(row):
            colours.add(px)
            if px != (255, 255, 255):
                non_white += 1
            if all(abs(px[i] - ALERT_RED[i]) <= 12 for i in range(3)):
                run[x] += 1
                longest[x] = max(longest[x], run[x])
            else:
                run[x] = 0
    frac = non_white / (w * h)
    # A raised alert's marker: a solid red vertical line the height of
    # the plot (240 px); the red of the legend and labels is not.
    marker_columns = sum(1 for x in range(w) if longest[x] >= 200)
    print("screenshot: %d colours, %.1f%% not white, %d columns with a red vertical line"
          % (len(colours), 100 * frac, marker_columns))
    check(len(colours) > 200, "only %d colours: blank or unstyled?" % len(colours))
    check(frac > 0.05, "%.1f%% of the screenshot is not white" % (100 * frac))
    # On screen: the left chart's T1 and the right chart's D1, lines 3 px
    # wide, so at least 2 solid columns each.
    check(marker_columns >= 4, "alert markers not drawn (%d columns)" % marker_columns)
    if os.environ.get("DW_KEEP_SCREENSHOT"):
        shutil.copy(png, os.environ["DW_KEEP_SCREENSHOT"])

    p = run_chromium(exe, d, "--dump-dom", "file://" + html)
    check(p.returncode == 0, "chromium --dump-dom failed: %s" % p.stderr[-500:])
    dom, _ = parse(b"<!DOCTYPE html>\n" + p.stdout)
    got_markers = list(dom.root.find_all("g", cls="alert-marker"))
    rules = sorted(g.attrs["data-rule"] for g in got_markers)
    check(rules == ["D1", "D1"] + ["T1"] * 6, "rendered alert markers: %s" % rules)
    check(len(list(dom.root.find_all("tr", cls="alert-row"))) == n_rows, "rendered alert rows")
    # 4 moments x 2, and the D1's (L1) map in the summary box
    check(len(list(dom.root.find_all("svg", cls="heatmap"))) == 9, "rendered heat maps")


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
