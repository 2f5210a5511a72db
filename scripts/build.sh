#!/usr/bin/env bash
# Configures and builds ductwatch in ./build (or $DW_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${DW_BUILD_DIR:-build}
if [ -f "$BUILD/build.ninja" ]; then
  meson setup --reconfigure "$BUILD" "$@" >/dev/null
else
  meson setup "$BUILD" "$@"
fi
meson compile -C "$BUILD"
