#!/usr/bin/env python3
"""Writes ductwatch.conf(5) in scdoc from the shipped configuration file
itself (processing/ductwatch.conf): its opening comment is the description,
every [section] a section of the page, every key its default and the
comment lines above it. So the page cannot disagree with the file.

    conf2scd.py ductwatch.conf OUT.scd SYSCONFDIR DOCDIR"""
import re
import sys

# What each section is about, for a reader of the page (the file itself
# says it per key).
SECTIONS = {
    "gating": "When a zone's sample counts at all (validity gating).",
    "baseline": "The rolling, robust per-zone baselines.",
    "learning": "No clinical alert before the garment has learned the wearer.",
    "alerts": "Hysteresis, clearing, episodes and the escalation to L2 and L3.",
    "T1": "Localized warmth.", "T2": "Marked localized warmth.",
    "F1": "Localized firmness.", "F1-FR": "Firmness that a feed did not relieve.",
    "D1": "Possible blocked duct.", "I1": "Possible inflammation (early mastitis).",
    "G1": "Possible fever from the skin: please measure.",
    "G2": "Fever and high fever (G3) from a logged thermometer reading.",
    "E1": "Engorgement.", "E2": "Engorgement not relieved.",
    "P1": "The garment pressing.", "S1": "A sensor detached.", "S2": "The garment off.",
    "S3": "A sensor stuck.", "S4": "A sensor out of range.",
    "S5": "A heat or cold source on the skin.",
}


def esc(text):
    # scdoc markup characters in running text
    return re.sub(r"([*_\\])", r"\\\1", text)


def paragraphs(lines, docdir):
    """Comment lines as paragraphs (an empty comment line parts them), with
    the source tree's docs/X.md named where they are installed."""
    out, para = [], []
    for line in lines + [""]:
        if line:
            para.append(line)
        elif para:
            text = re.sub(r"\bdocs/(\w+\.md)", docdir + r"/\1", " ".join(para))
            out += [esc(text), ""]
            para = []
    return out


def main():
    src, out, sysconfdir, docdir = sys.argv[1:5]
    intro, sections, comment = [], [], []
    for raw in open(src, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not sections and line.startswith("#"):
            intro.append(line[1:].strip())
            continue
        m = re.match(r"\[(.+)\]$", line)
        if m:
            sections.append((m.group(1), []))
            comment = []
        elif line.startswith("#"):
            comment.append(line[1:].strip())
        elif "=" in line and sections:
            key, value = (x.strip() for x in line.split("=", 1))
            sections[-1][1].append((key, value, " ".join(comment)))
            comment = []
    page = ["ductwatch.conf(5)", "", "# NAME", "",
            "ductwatch.conf - the detection parameters of ductwatch-detect", "",
            "# SYNOPSIS", "", "%s/ductwatch/ductwatch.conf" % sysconfdir, "",
            "# DESCRIPTION", ""] + paragraphs(intro, docdir) + [
            "The file is INI: *[section]* lines, then *key = value* lines; *#* starts a "
            "comment line. *ductwatch-detect --config* _FILE_ reads it (the service "
            "passes the installed one); *ductwatch report --config* _FILE_ colours its "
            "heat maps with the same values. Numbers are plain decimals; durations take "
            "ms, s, m, h, d, or a sum from the largest unit down (1h30m); a bare number "
            "is seconds; a duration finer than a millisecond is refused. This page is "
            "made from the shipped file: every key below is shown with its default.", ""]
    for name, keys in sections:
        page += ["# [%s]" % name, ""]
        if name in SECTIONS:
            page += [SECTIONS[name], ""]
        for key, value, text in keys:
            page += ["*%s* = %s" % (esc(key), esc(value)), "\t" + esc(text or "(no comment)"), ""]
    page += ["# FILES", "", "%s/ductwatch/ductwatch.conf" % sysconfdir,
             "\tThe configuration the ductwatch-detect service reads.", "",
             "# SEE ALSO", "",
             "*ductwatch-detect*(1), *ductwatch*(1), %s/detection.md (the rules, their "
             "provenance and scores)" % docdir, ""]
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(page))


if __name__ == "__main__":
    main()
