#!/usr/bin/env bash
# Every test: install, build, then ctest (unit tests of impl/ and the runner, the adapter's
# pytest suite, the runner's verdict tests, and the conformance suite against every CPython
# found, PyPy and the C++ reference). Before ctest it says which interpreters the conformance
# matrix found and which parts of it are not run, and why.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/interpreters.sh build
echo "test: running ctest"
ctest --test-dir build --output-on-failure --timeout 1500 "$@"
