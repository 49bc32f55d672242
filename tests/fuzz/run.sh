#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz, in the sanitized tree (clang, ASan+UBSan; see
# tests/sanitize/run.sh, which builds it for the sanitized tests as well):
#
#   tests/fuzz/run.sh build SOURCE_DIR FUZZ_TREE        configure and build every fuzz target
#   tests/fuzz/run.sh run SOURCE_DIR FUZZ_TREE NAME      run fuzz_NAME for MPC_FUZZ_SECONDS (60)
#
# A run starts from the seeds in SOURCE_DIR/tests/fuzz/corpus/NAME (read only) and the inputs
# earlier runs found (FUZZ_TREE/corpus/NAME); new inputs and crash artifacts go to the build
# tree, never the source tree. Any finding (crash, leak, sanitizer report, timeout, memory over
# the limits) makes libFuzzer exit non-zero and this script fail, naming the artifact.
set -euo pipefail
mode=$1
src=$2
tree=$3

if [ "$mode" = build ]; then
  # The fuzz targets live in the sanitized tree, which tests/sanitize/run.sh makes.
  exec bash "$src/tests/sanitize/run.sh" build "$src" "$tree"
fi

name=$4
seconds=${MPC_FUZZ_SECONDS:-60}
binary=$tree/tests/fuzz/fuzz_$name
seeds=$src/tests/fuzz/corpus/$name
work=$tree/corpus/$name
artifacts=$tree/artifacts/$name
[ -x "$binary" ] || { echo "run.sh: $binary was not built (sanitized.build failed?)" >&2; exit 1; }
mkdir -p "$work" "$artifacts"
rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Bounded memory: one input may allocate at most 512 MiB at once and the process stay under
# 2 GiB; -timeout flags an input that runs for more than 20 s.
status=0
"$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=20 \
  -max_len=72000 -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$seeds" || status=$?
found=$(ls "$artifacts" 2>/dev/null | head -20)
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
  echo "fuzz.$name: libFuzzer exited $status; findings in $artifacts:" >&2
  echo "$found" >&2
  echo "reproduce: $binary $artifacts/<file>" >&2
  exit 1
fi
echo "fuzz.$name: no findings in ${seconds} s"
