#!/usr/bin/env bash
# Whitespace lint (as dav1d does in CI): no tabs in C sources, no CR, no
# trailing spaces in tracked text files.
set -u
cd "$(dirname "$0")/.."
bad=0
files=$(git ls-files '*.c' '*.h' '*.py' '*.sh' '*.md' '*.build' '*.scd' '*.conf' '*.service' '*.rules' '*.in' '*.js' '*.css' '*.html' 2>/dev/null)
[ -n "$files" ] || { echo "lint: no tracked files"; exit 0; }
for f in $files; do
  [ -f "$f" ] || continue
  if grep -nP '\r' "$f" >/dev/null; then echo "$f: carriage return"; bad=1; fi
  if grep -nP '[ \t]+$' "$f" | head -3 | sed "s|^|$f:|" | grep .; then bad=1; fi
  case "$f" in
    *.c|*.h) if grep -nP '\t' "$f" | head -3 | sed "s|^|$f: tab: |" | grep .; then bad=1; fi ;;
  esac
done
[ $bad -eq 0 ] && echo "lint: clean"
exit $bad
