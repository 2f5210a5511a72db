#!/usr/bin/env bash
# The test command: installs dependencies (apt only when a package is
# missing), builds from scratch and runs every
# test suite twice: a plain build, then the same tests built with
# AddressSanitizer + UndefinedBehaviorSanitizer; then each libFuzzer target
# for DW_FUZZ_SECONDS (30) from its corpus (docs/reliability.md). Ends with
# one line "N passed, N failed" that counts all three runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
BUILD=${DW_BUILD_DIR:-build-test}
ASAN_BUILD=${DW_ASAN_BUILD_DIR:-build-asan}
FUZZ_BUILD=${DW_FUZZ_BUILD_DIR:-build-fuzz}
rm -rf "$BUILD" "$ASAN_BUILD" "$FUZZ_BUILD"
DW_BUILD_DIR=$BUILD bash scripts/build.sh

status=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@" || status=$?

# The sanitized run. Every report goes to a file under $REPORTS as well (a
# program that a test only stops, or whose exit status a test does not look
# at, cannot hide one); any such file fails the run. The slow soaks run
# too: under ASan they take about as long as without (docs/reliability.md).
# GCC's -fsanitize=undefined leaves float-cast-overflow out: it is added.
DW_BUILD_DIR=$ASAN_BUILD bash scripts/build.sh -Db_sanitize=address,undefined -Db_lundef=false \
  -Dc_args=-fsanitize=float-cast-overflow -Dc_link_args=-fsanitize=float-cast-overflow
REPORTS=$PWD/$ASAN_BUILD/sanitizer-reports
mkdir -p "$REPORTS"
asan_status=0
ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$REPORTS/asan" \
LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan" \
  meson test -C "$ASAN_BUILD" --print-errorlogs --num-processes 2 "$@" \
  || asan_status=$?
if compgen -G "$REPORTS/*" >/dev/null; then
  echo "sanitizer reports:" >&2
  for f in "$REPORTS"/*; do echo "== $f" >&2; head -40 "$f" >&2; done
  asan_status=1
fi
[ $asan_status -eq 0 ] || status=1

# Bounded fuzzing: only the fuzz targets are built (clang, libFuzzer, ASan +
# UBSan); a crash, a leak or any sanitizer report fails its test. New inputs
# stay in $FUZZ_BUILD/tests/fuzz/fuzz-work.
if CC=clang meson setup "$FUZZ_BUILD" -Dfuzzing=true -Db_sanitize=address,undefined \
     -Db_lundef=false >/dev/null &&
   ninja -C "$FUZZ_BUILD" tests/fuzz/fuzz_frame tests/fuzz/fuzz_msg tests/fuzz/fuzz_hello \
     tests/fuzz/fuzz_config tests/fuzz/fuzz_alert tests/fuzz/fuzz_web \
     tests/fuzz/fuzz_record >/dev/null; then
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    meson test -C "$FUZZ_BUILD" --no-rebuild --print-errorlogs --num-processes 2 \
    --suite fuzz-run || status=1
else
  echo "the fuzz targets did not build (clang, libclang-rt-14-dev)" >&2
  status=1
fi

# One closing line that any CI reads, counted from meson's own logs (all
# three runs); sanitizer report files count as one more failure.
/usr/bin/python3 - "$REPORTS" "$BUILD/meson-logs/testlog.json" \
  "$ASAN_BUILD/meson-logs/testlog.json" "$FUZZ_BUILD/meson-logs/testlog.json" <<'PY'
import json, os, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "TIMEOUT": 0, "ERROR": 0, "EXPECTEDFAIL": 0, "UNEXPECTEDPASS": 0}
for log in sys.argv[2:]:
    try:
        with open(log) as f:
            for line in f:
                r = json.loads(line).get("result", "ERROR")
                counts[r] = counts.get(r, 0) + 1
    except FileNotFoundError:
        counts["ERROR"] += 1
passed = counts["OK"] + counts["EXPECTEDFAIL"]
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
if os.path.isdir(sys.argv[1]) and os.listdir(sys.argv[1]):
    failed += 1
line = f"{passed} passed, {failed} failed"
if counts["SKIP"]:
    line += f", {counts['SKIP']} skipped"
print(line)
PY
exit $status
