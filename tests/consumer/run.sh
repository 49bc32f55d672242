#!/usr/bin/env bash
# Installs the project's build into a fresh prefix, then configures, builds and runs the
# consumer program above against that prefix only.
#
#   tests/consumer/run.sh BUILD_DIR WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1
work=$2
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/mpc_consumer"
