#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (DW_FUZZ_SECONDS, default 30)
# from the committed corpus, writing new inputs and any crasher to WORKDIR
# (never to the source tree). Exit status: the fuzzer's, 1 for a crash, a
# leak, a time-out or a sanitizer report, so each fails the test.
#   run_fuzzer.sh TARGET CORPUS WORKDIR
set -euo pipefail
target=$1 corpus=$2 work=$3
secs=${DW_FUZZ_SECONDS:-30}
# UBSan only reports by default; a report must fail the run.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$work/new" "$work/artifacts"
# libFuzzer exits 77 on a finding by default, which meson reads as a skip:
# a crash would pass as "skipped". Any finding exits 1.
exec "$target" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/new" "$corpus"
