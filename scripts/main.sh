#!/usr/bin/env bash
# The main job: install, build, run the conformance suite against CPython (the system python3)
# and the C++ reference implementation, side by side. Extra arguments go to mpconform.
# Builds only what it runs: the runner and the C++ adapter (the CPython adapter is Python);
# scripts/test.sh builds everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh mpconform mpconform-cpp-adapter
echo "main: running build/harness/mpconform --impl cpython --impl cpp $*"
exec build/harness/mpconform --impl cpython --impl cpp "$@"
