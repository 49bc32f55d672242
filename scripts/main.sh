#!/usr/bin/env bash
# The main job: install, build, run the conformance suite against CPython (the system python3)
# and the C++ reference implementation, side by side. Extra arguments go to mpconform.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/harness/mpconform --impl cpython --impl cpp "$@"
