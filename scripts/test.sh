#!/usr/bin/env bash
# Every test: install, build, then ctest (unit tests of impl/ and the runner, the adapter's
# pytest suite, the runner's verdict tests, and the conformance suite against every CPython
# found, PyPy and the C++ reference).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 1500 "$@"
