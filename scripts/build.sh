#!/usr/bin/env bash
# Installs what is missing and builds into build/: the targets given, or every target.
#   bash scripts/build.sh                                     # everything (tests, benchmarks)
#   bash scripts/build.sh mpconform mpconform-cpp-adapter     # only these
# Set CMAKE_BUILD_PARALLEL_LEVEL to change the number of jobs (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
echo "build: configuring build/ (RelWithDebInfo)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1; then
  cat "$log"
  echo "build: configuring failed (output above)" >&2
  exit 1
fi
if [ $# -gt 0 ]; then
  echo "build: building $* with -j$jobs"
  cmake --build build -j"$jobs" --target "$@"
else
  echo "build: building every target (runner, adapters, unit tests, benchmarks) with -j$jobs"
  cmake --build build -j"$jobs"
fi
