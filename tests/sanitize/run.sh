#!/usr/bin/env bash
# The sanitized tree: impl/, the runner's core and the C++ adapter rebuilt with clang,
# AddressSanitizer (with LeakSanitizer), UndefinedBehaviorSanitizer and libFuzzer's coverage
# instrumentation (-DMPC_FUZZ=ON), in a build tree of its own. One tree serves both the
# sanitized tests below and the fuzz targets (tests/fuzz), so impl/ is compiled with sanitizers
# once, not twice.
#
#   tests/sanitize/run.sh build SOURCE_DIR TREE          configure and build the tree
#   tests/sanitize/run.sh test SOURCE_DIR TREE RUNNER    run, from that tree:
#     1. every unit test of impl/ (hostile pickles and frames included) and of the adapter;
#     2. the conformance cases through the sanitized adapter, driven by the ordinary runner.
# Any sanitizer report fails the job: ASan and LSan exit non-zero, UBSan is built with
# -fno-sanitize-recover and halts.
set -euo pipefail
mode=$1
src=$2
build=$3

if [ "$mode" = build ]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}  # share objects between build trees
  fi
  # -O1 with line tables only: what the sanitizers' documentation recommends, and it compiles
  # in about half the time of -O2 -g while reports keep file:line.
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DMPC_FUZZ=ON -DMPC_SANITIZED_TESTS=OFF "${launcher[@]}" >/dev/null
  cmake --build "$build" -j"$(nproc)" \
    --target fuzz_all mpc_impl_tests mpconform_cpp_adapter_tests mpconform-cpp-adapter
  exit 0
fi

runner=$4
for binary in tests/impl/mpc_impl_tests harness/adapters/cpp/mpconform_cpp_adapter_tests \
  harness/adapters/cpp/mpconform-cpp-adapter; do
  [ -x "$build/$binary" ] || { echo "run.sh: $build/$binary was not built (sanitized.build failed?)" >&2; exit 1; }
done

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_init_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# A sanitizer's report goes to stderr, which ctest shows on failure.

echo "== impl unit tests (ASan+UBSan) =="
"$build/tests/impl/mpc_impl_tests" --gtest_brief=1

echo "== C++ adapter unit tests (ASan+UBSan) =="
"$build/harness/adapters/cpp/mpconform_cpp_adapter_tests" --gtest_brief=1

echo "== conformance cases through the sanitized C++ adapter =="
# The adapter's stderr is kept in the failure trace, so a sanitizer report there fails its case
# (the adapter exits non-zero: crashed) and is shown.
# Judged, as conformance_cpp is, with the C++ reference's known-divergence file.
"$runner" --jobs 2 --impl "cpp:$build/harness/adapters/cpp/mpconform-cpp-adapter,label=cpp-sanitized,known=$src/harness/known-divergences/cpp.yaml"
