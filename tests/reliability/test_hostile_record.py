"""What a hostile or broken publisher can do to ductwatch-record, and what
the recorder promises (docs/reliability.md, "Hostile input"):

- topic_traversal: a topic whose device part is not a valid device id
  (`frame.../../../PWNED`) or differs from its HELLO's id is refused,
  counted and logged once; no file lands outside --dir; the honest device
  on the same stream is recorded.
- deleted_file: the session file deleted while the recorder writes it is
  noticed at the next flush: a warning, a `deleted:` line with the frames
  lost, and a new file (file_reason `file-deleted`) that starts with a gap
  row counting them and holds every frame sent after.
- deleted_fleet_file: the same for a fleet file (--layout fleet): every
  garment in it gets its deleted: line and a gap row of its own frames
  lost, first in the new fleet file.
- event_text: event texts a publisher sends straight to the recorder are
  stored as valid UTF-8 (invalid bytes as U+FFFD, cut at a whole character
  to fit the column).
- recover_live: `ductwatch-record --recover` refuses a file a live
  recorder is writing (exit 1, the file untouched) and recovers it once
  that recorder was killed."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import HELLO, SAMPLE, case, check, wait_for  # noqa: E402
from dwtest.record import Recorder  # noqa: E402
from hostilelib import Publisher, files_under, hello_payload, sample_payload  # noqa: E402


@case()
def test_topic_traversal(t):
    ctx = t.ctx
    rdir = t.path("a", "b", "c", "rec")
    pub = Publisher(ctx, t)
    rec = Recorder(t, [pub.ep], extra=["-v"], dir=rdir)
    try:
        pub.wait_subscriber()   # the recorder's one subscription, to everything
        hostile = [
            ("frame.../../../PWNED", "GOOD-ID"),    # traversal, valid HELLO id
            ("frame.OTHER-ID", "GOOD-ID"),          # an id that is not its HELLO's
            ("frame.bad id", "bad id"),             # a space: not a device id
        ]
        dseq = 0
        for topic, hid in hostile:
            pub.frame(topic, HELLO, hello_payload(hid), dseq)
            for k in range(20):
                dseq += 1
                pub.frame(topic, SAMPLE, sample_payload(k), dseq)
        pub.frame("frame.GOOD-ID", HELLO, hello_payload("GOOD-ID"), 0)
        for k in range(30):
            pub.frame("frame.GOOD-ID", SAMPLE, sample_payload(k), k + 1)
        rec.wait_flushed(30)   # everything before GOOD-ID's last frame arrived
        rc = rec.stop()
    finally:
        pub.close()
    out = "\n".join(rec.lines)
    text = rec.err
    outside = [f for f in files_under(t.dir) if not f.startswith(rdir + os.sep) and
               f.endswith(".h5")]
    check(not outside, "files outside --dir: %r" % outside)
    check(rc == 0, "record exit %d" % rc)
    inside = sorted(os.listdir(rdir))
    check(len(inside) == 1 and inside[0].startswith("GOOD-ID-"),
          "want one GOOD-ID file in --dir, got %r (stdout %r)" % (inside, out))
    import h5py
    with h5py.File(os.path.join(rdir, inside[0]), "r") as f:
        check(f.attrs["device_id"] in (b"GOOD-ID", "GOOD-ID"), "device_id %r" %
              f.attrs["device_id"])
        n = len(f["frames/seq"])
        check(n == 30, "GOOD-ID file holds %d frames, want 30" % n)
    check("'frame.../../../PWNED'" in text, "the first refused topic is not in the log:\n%s"
          % text[-2000:])
    check("OTHER-ID: refused a HELLO of device 'GOOD-ID'" in text,
          "the HELLO on another device's topic is not refused in the log:\n%s" % text[-2000:])
    # 21 + 21 messages on topics that are no device id, 1 HELLO
    check("refused 43 message(s)" in text, "the refused messages are not counted (43):\n%s"
          % text[-2000:])
    check(text.count("refused a message on topic") == 1, "refusals not logged once")


def recording(t, dev):
    """A publisher and a recorder on it (into RUN/rec) with a file of 30
    frames of dev flushed: (publisher, recorder, its directory)."""
    rdir = t.path("rec")
    pub = Publisher(t.ctx, t)
    rec = Recorder(t, [pub.ep], extra=["-v"], dir=rdir)
    pub.wait_subscriber()
    pub.frame("frame." + dev, HELLO, hello_payload(dev), 0)
    for k in range(30):
        pub.frame("frame." + dev, SAMPLE, sample_payload(k), k + 1)
    rec.wait_flushed(30)
    return pub, rec, rdir


@case()
def test_deleted_file(t):
    pub, rec, rdir = recording(t, "DEL-1")
    try:
        first = os.listdir(rdir)
        check(len(first) == 1, "files %r" % first)
        os.unlink(os.path.join(rdir, first[0]))
        wait_for(lambda: "was deleted" in rec.err, 10, "the recorder to notice the deletion")
        n0 = len(rec.flushed())
        for k in range(30, 60):
            pub.frame("frame.DEL-1", SAMPLE, sample_payload(k), k + 1)
        wait_for(lambda: any(n >= 30 for n in rec.flushed()[n0:]), 30,
                 "the new file's flush of the 30 frames")
        rc = rec.stop()
    finally:
        pub.close()
    out = "\n".join(rec.lines)
    check(rc == 0, "record exit %d" % rc)
    check("deleted: %s: 30 frame(s) of DEL-1 lost with it" % os.path.join(rdir, first[0])
          in out, "no deleted: line: %r" % out)
    files = os.listdir(rdir)
    check(len(files) == 1 and files != first, "files after: %r" % files)
    import h5py
    with h5py.File(os.path.join(rdir, files[0]), "r") as f:
        reason = f.attrs["file_reason"]
        n = len(f["frames/seq"])
        gaps = [(int(e["missing"]), bytes(e["text"]).rstrip(b"\x00").decode())
                for e in f["events"][:] if bytes(e["kind"]).rstrip(b"\x00") == b"gap"]
    check(reason in (b"file-deleted", "file-deleted"), "file_reason %r" % reason)
    check(n == 30, "the new file holds %d frames, want the 30 sent after" % n)
    check(gaps == [(30, "session file deleted while recording")], "gap rows %r" % gaps)


@case()
def test_deleted_fleet_file(t):
    """The same with --layout fleet, two garments in one fleet file: each
    gets its deleted: line with its own frames lost (DELF-1's counted
    across the new HELLO it sent after 10, which joins the same fleet file
    again), and starts the new fleet file (/devices reason file-deleted)
    with a gap row counting them; every frame sent after is in the new
    file."""
    import h5py
    rdir = t.path("rec")
    sent = {"DELF-1": 30, "DELF-2": 20}
    pubs = {dev: Publisher(t.ctx, t, name="pub%d" % i) for i, dev in enumerate(sent)}
    rec = Recorder(t, [p.ep for p in pubs.values()],
                   extra=["-v", "--layout", "fleet", "--name", "hostile"], dir=rdir)
    try:
        for dev, n in sent.items():   # one acquire stream per garment, as in a fleet
            pubs[dev].wait_subscriber()
            pubs[dev].frame("frame." + dev, HELLO, hello_payload(dev), 0)
            for k in range(n):
                if dev == "DELF-1" and k == 10:   # a changed HELLO (another rate)
                    pubs[dev].frame("frame." + dev, HELLO, hello_payload(dev, rate=20), k + 1)
                pubs[dev].frame("frame." + dev, SAMPLE, sample_payload(k), k + 1)
        rec.wait_flushed(50)
        first = os.listdir(rdir)
        check(len(first) == 1 and first[0].startswith("fleet-hostile-"), "files %r" % first)
        os.unlink(os.path.join(rdir, first[0]))
        wait_for(lambda: "was deleted" in rec.err, 10, "the recorder to notice the deletion")
        n0 = len(rec.flushed())
        for dev, n in sent.items():
            for k in range(n, n + 25):
                pubs[dev].frame("frame." + dev, SAMPLE, sample_payload(k), k + 1)
        wait_for(lambda: any(x >= 50 for x in rec.flushed()[n0:]), 30,
                 "the new fleet file's flush of the 50 frames")
        rc = rec.stop()
    finally:
        for p in pubs.values():
            p.close()
    out = "\n".join(rec.lines)
    check(rc == 0, "record exit %d" % rc)
    for dev, n in sent.items():
        line = "deleted: %s: %d frame(s) of %s lost with it" % (os.path.join(rdir, first[0]), n,
                                                               dev)
        check(line in out, "no %r line: %r" % (line, out))
    files = os.listdir(rdir)
    check(len(files) == 1, "files after: %r" % files)

    def s(x):
        return bytes(x).rstrip(b"\x00").decode()
    with h5py.File(os.path.join(rdir, files[0]), "r") as f:
        devs = {int(r["index"]): (s(r["device_id"]), s(r["reason"])) for r in f["devices"][:]}
        frames = [devs[int(i)][0] for i in f["frames/device"][:]]
        gaps = sorted((devs[int(e["device"])][0], int(e["missing"]), s(e["text"]))
                      for e in f["events"][:] if s(e["kind"]) == "gap")
    check(sorted(devs.values()) == [("DELF-1", "file-deleted"), ("DELF-2", "file-deleted")],
          "/devices %r" % devs)
    check(frames.count("DELF-1") == 25 and frames.count("DELF-2") == 25,
          "the new fleet file holds %d and %d frames, want the 25 each sent after" %
          (frames.count("DELF-1"), frames.count("DELF-2")))
    check(gaps == [("DELF-1", 30, "fleet file deleted while recording"),
                   ("DELF-2", 20, "fleet file deleted while recording")], "gap rows %r" % gaps)


def raw_json(obj, **raw):
    """obj as JSON with the string values named in raw replaced by raw
    bytes (UTF-8 or not): what a hostile publisher can put on the wire."""
    body = json.dumps({**obj, **{k: "\x00%s\x00" % k for k in raw}}).encode()
    for k, v in raw.items():
        body = body.replace(("\\u0000%s\\u0000" % k).encode(), v)
    return body


@case()
def test_event_text(t):
    """Event and alert texts a publisher sends straight to the recorder (not
    through acquire, which repairs or refuses them): bytes that are not
    UTF-8 are stored as U+FFFD, and a text that grows past its column so
    (each bad byte takes three) is cut at a whole character; every text of
    /events and /alerts decodes as UTF-8."""
    import h5py
    pub, rec, rdir = recording(t, "TXT-1")
    bad = b"ok \xff\xfe \x80 \xc0\xaf \xed\xa0\x80 end"
    long = b"\xff" * 30 + b"end"   # 93 bytes repaired: 64 falls inside a U+FFFD
    event = {"seq": 0, "stream": pub.stream, "device": "TXT-1", "t_device_us": 3000000,
             "t_host_ns": 1700000000000000000, "kind": "symptom", "side": "none",
             "value": None, "missing": 0, "source": "user"}
    alert = {"seq": 1, "stream": 1700000000000000001, "device": "TXT-1", "id": 1,
             "rule": "G3", "level": "L2", "state": "raised", "side": "left", "zone": 0,
             "value": 39.0, "threshold": 38.5, "t_device_us": 3000000,
             "t_host_ns": 1700000000000000000, "ruleset_version": "1", "params": {}}
    try:
        for text, source in ((bad, b"user"), (long, b"us\xffer")):
            pub.seq += 1
            pub.send("event.TXT-1", raw_json(dict(event, seq=pub.seq), text=text,
                                             source=source))
        # zone_name: 48 bytes repaired, its 32-byte column cut between two
        pub.send("alert.TXT-1", raw_json(alert, message=bad, zone_name=b"z\xff" * 12))
        for k in range(30, 40):
            pub.frame("frame.TXT-1", SAMPLE, sample_payload(k), k + 1)
        rec.wait_flushed(40)
        rc = rec.stop()
    finally:
        pub.close()
    check(rc == 0, "record exit %d" % rc)
    files = os.listdir(rdir)
    with h5py.File(os.path.join(rdir, files[0]), "r") as f:
        ev = [(bytes(e["text"]).rstrip(b"\x00"), bytes(e["source"]).rstrip(b"\x00"))
              for e in f["events"][:] if bytes(e["kind"]).rstrip(b"\x00") == b"symptom"]
        al = [(bytes(a["message"]).rstrip(b"\x00"), bytes(a["zone_name"]).rstrip(b"\x00"))
              for a in f["alerts"][:]]
    check(len(ev) == 2 and len(al) == 1, "symptom rows %r, alert rows %r" % (ev, al))
    try:
        got = [x.decode("utf-8") for row in ev + al for x in row]
    except UnicodeDecodeError as e:
        check(False, "a text in the file is not UTF-8 (%s): %r %r" % (e, ev, al))
    want_bad = "ok \ufffd\ufffd \ufffd \ufffd\ufffd \ufffd\ufffd\ufffd end"
    check(got[0] == want_bad and got[1] == "user", "repaired %r" % got[:2])
    check(got[2] == "\ufffd" * 21 and got[3] == "us\ufffder",
          "cut %r (%d bytes), source %r" % (got[2], len(ev[1][0]), got[3]))
    check(got[4] == want_bad and got[5] == "z\ufffd" * 8, "alert %r" % got[4:])


@case()
def test_recover_live(t):
    pub, rec, rdir = recording(t, "LIVE-1")
    try:
        path = os.path.join(rdir, os.listdir(rdir)[0])
        with open(path, "rb") as f:
            before = f.read()
        r = t.run(["ductwatch-record", "--recover", path])
        err = r.stderr
        check(r.returncode == 1, "--recover on a live file: exit %d, %r" % (r.returncode, err))
        check("being written" in err, "no clear reason: %r" % err)
        with open(path, "rb") as f:
            check(f.read() == before, "--recover changed the live file")
        check(rec.p.poll() is None, "the recorder died")
        rec.kill()
        r = t.run(["ductwatch-record", "--recover", path])
        check(r.returncode == 0, "--recover after kill -9: exit %d, %r" %
              (r.returncode, r.stderr))
        check("frames 30" in r.stdout, "recovered file: %r" % r.stdout)
    finally:
        pub.close()


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
