#!/usr/bin/python3
"""For tests/meson.build: the cases of the Python test files named on the
command line, one line each (see dwtest.runner.list_for_meson)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dwtest.runner import list_for_meson  # noqa: E402

list_for_meson(sys.argv[1:])
