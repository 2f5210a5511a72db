"""What a hostile or broken publisher can do to ductwatch-record, and what
the recorder promises (docs/reliability.md, "Hostile input"):

- topic_traversal: a topic whose device part is not a valid device id
  (`frame.../../../PWNED`) or differs from its HELLO's id is refused,
  counted and logged once; no file lands outside --dir; the honest device
  on the same stream is recorded."""
import os
import time

import zmq

from hostilelib import (HELLO, SAMPLE, Publisher, Tmp, check, files_under, hello_payload, log, run,
                        sample_payload, start_record, stop)


def test_topic_traversal():
    ctx = zmq.Context()
    with Tmp() as t:
        rdir = t.path("a", "b", "c", "rec")
        pub = Publisher(ctx, t)
        rec = start_record(t, pub.ep, rdir)
        try:
            pub.wait_subscriber()
            time.sleep(0.2)
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
            time.sleep(1.5)
            rc = stop(rec, "ductwatch-record")
        finally:
            pub.close()
        out = rec.stdout.read().decode()
        text = log(t)
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


if __name__ == "__main__":
    run([test_topic_traversal])
