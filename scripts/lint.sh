#!/usr/bin/env bash
# Whitespace lint (as dav1d does in CI): no tabs in C sources, no CR, no
# trailing spaces in tracked text files. One grep per rule over every file
# (a few processes in all: a loop of greps per file took a minute on a
# loaded 2-core machine).
set -u
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.py' '*.sh' '*.md' '*.build' '*.scd' '*.conf' \
                       '*.service' '*.rules' '*.in' '*.js' '*.css' '*.html' 2>/dev/null)
[ ${#files[@]} -gt 0 ] || { echo "lint: no tracked files"; exit 0; }
mapfile -t present < <(for f in "${files[@]}"; do [ -f "$f" ] && echo "$f"; done)
mapfile -t csrc < <(printf '%s\n' "${present[@]}" | grep -E '\.[ch]$')
bad=0
report() { # what, then grep's file:line:text lines on stdin
  local what=$1 out
  out=$(head -30)
  [ -n "$out" ] || return 0
  sed "s|^|$what: |" <<<"$out"
  bad=1
}
# (report reads a process substitution, not a pipe: it must set bad here)
report "carriage return" < <(grep -nP '\r' -- "${present[@]}")
report "trailing space" < <(grep -nP '[ \t]+$' -- "${present[@]}")
[ ${#csrc[@]} -eq 0 ] || report "tab" < <(grep -nP '\t' -- "${csrc[@]}")
[ $bad -eq 0 ] && echo "lint: clean"
exit $bad
