#!/usr/bin/env bash
# Builds and runs the IPC benchmarks, then the CPython equivalents, on this machine in one go,
# and prints the figures side by side with the ratios and whether each target is met.
#
#   benchmarks/run.sh                  # build in $BUILD_DIR (default /tmp/build-mpc-bench)
#   PYTHON=~/.pyenv/versions/3.13.0/bin/python benchmarks/run.sh
#   BENCH_BINARY=/path/to/mpc_benchmarks benchmarks/run.sh   # skip the build
#   ROUNDS=5 benchmarks/run.sh         # more rounds (default 3; medians are reported)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-/tmp/build-mpc-bench}
python=${PYTHON:-/usr/bin/python3}
bin=${BENCH_BINARY:-$build/benchmarks/mpc_benchmarks}

if [[ -z "${BENCH_BINARY:-}" ]]; then
  echo "building mpc_benchmarks (Release) in $build ..." >&2
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target mpc_benchmarks -j2 >/dev/null
fi

rounds=${ROUNDS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Rounds alternate C++ and CPython so that both see the same background load; the report
# takes the median of each figure over the rounds.
# Round trips (the Connection ones, and the semaphore and raw futex handoffs) are also
# measured with both processes pinned to one CPU: on a VM an idle vCPU
# is halted, and waking it for every message can cost tens of microseconds that have nothing to
# do with the code under test; on one CPU a round trip is two context switches plus the system
# calls, which is what the latency target is about.
cpu=${PIN_CPU:-0}
for ((i = 1; i <= rounds; i++)); do
  echo "round $i/$rounds: C++ benchmarks ..." >&2
  "$bin" --benchmark_format=json --benchmark_out="$out/cpp.$i.json" --benchmark_out_format=json >/dev/null
  echo "round $i/$rounds: CPython benchmarks ($python) ..." >&2
  "$python" "$here/python_bench.py" >"$out/py.$i.json"
  echo "round $i/$rounds: round trips pinned to CPU $cpu ..." >&2
  taskset -c "$cpu" "$bin" --benchmark_filter='RoundTrip' --benchmark_format=json \
    --benchmark_out="$out/cpp_pinned.$i.json" --benchmark_out_format=json >/dev/null
  taskset -c "$cpu" "$python" "$here/python_bench.py" roundtrip >"$out/py_pinned.$i.json"
done
/usr/bin/env python3 "$here/report.py" "$out" "$rounds"
