#!/usr/bin/env bash
# The main job: installs dependencies (apt only when a package is missing),
# builds, and runs the whole pipeline.
# With no garment attached it runs on the simulator: live readings, alerts,
# and a session file under ./sessions. Extra arguments go to `ductwatch run`
# (e.g. --port /dev/ttyACM0, --scenario blocked-duct, --duration 12h).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --build
bash scripts/build.sh
exec build/tools/ductwatch run "$@"
