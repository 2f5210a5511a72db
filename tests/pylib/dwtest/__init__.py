"""The helpers every Python test uses (docs/testing.md): check/fail/skip,
the runner (@case, main), programs as processes in a private runtime dir
(Run, Proc, prog), the stream subscriber (Stream, subscribe), the garments
(garment), the recorder (record) and test-made garment bytes and messages
(wire). tests/interop/pygarment.py stays independent of all this on
purpose: it is the garment written from docs/protocol.md alone.

A test file starts with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "pylib"))
    import dwtest
"""
from .core import Fail, Skip, check, fail, skip, wait_for
from .procs import (BUILD_ROOT, SOURCE_ROOT, Proc, Run, artifacts, children, kill_stage, prog,
                    read_pty, run_ended, source, stop_all)
from .runner import case, main
from .stream import EVENT, FRAME_HDR, HELLO, SAMPLE, STATUS, Stream, parse_frame_body, subscribe

__all__ = ["Fail", "Skip", "check", "fail", "skip", "wait_for", "BUILD_ROOT", "SOURCE_ROOT",
           "Proc", "Run", "artifacts", "children", "kill_stage", "prog", "read_pty", "run_ended",
           "source", "stop_all", "case", "main", "EVENT", "FRAME_HDR", "HELLO", "SAMPLE",
           "STATUS", "Stream", "parse_frame_body", "subscribe"]
