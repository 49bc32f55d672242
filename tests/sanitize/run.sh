#!/usr/bin/env bash
# impl/ and the C++ adapter rebuilt with AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer in a build tree of their own, then:
#   1. every unit test of impl/ (hostile pickles and frames included) and of the adapter;
#   2. the conformance cases through the sanitized adapter, driven by the ordinary runner.
# Any sanitizer report fails the job: ASan and LSan exit non-zero, UBSan is built with
# -fno-sanitize-recover and halts.
#
#   tests/sanitize/run.sh SOURCE_DIR SANITIZED_BUILD_DIR RUNNER
set -euo pipefail
src=$1
build=$2
runner=$3

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPC_SANITIZE=ON \
  -DMPC_SANITIZED_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" \
  --target mpc_impl_tests mpconform_cpp_adapter_tests mpconform-cpp-adapter

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
