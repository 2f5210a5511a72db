#!/usr/bin/env bash
# The test command: installs dependencies, builds from scratch and runs every
# test suite. Ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
BUILD=${DW_BUILD_DIR:-build-test}
rm -rf "$BUILD"
DW_BUILD_DIR=$BUILD bash scripts/build.sh

status=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@" || status=$?

# One closing line that any CI reads, counted from meson's own log.
/usr/bin/python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "ERROR": 0, "EXPECTEDFAIL": 0, "UNEXPECTEDPASS": 0}
try:
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line).get("result", "ERROR")
            counts[r] = counts.get(r, 0) + 1
except FileNotFoundError:
    pass
passed = counts["OK"] + counts["EXPECTEDFAIL"]
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
line = f"{passed} passed, {failed} failed"
if counts["SKIP"]:
    line += f", {counts['SKIP']} skipped"
print(line)
PY
exit $status
