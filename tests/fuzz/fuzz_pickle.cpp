// libFuzzer target: mpc::pickle::loads on arbitrary bytes, then, for what loads, dumps at every
// protocol, reload, and compare.
//
// Findings: a crash or sanitizer report; an exception that is not an mpc error (std::bad_alloc,
// std::length_error, ...); our own dumps() output that loads() refuses; a value that changes
// across a round trip; dumps() of the reloaded value writing different bytes (the codec is
// deterministic for one graph, sharing included); repr() failing.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mpc/errors.hpp"
#include "mpc/pickle.hpp"
#include "mpc/value.hpp"

namespace {

[[noreturn]] void finding(const char* what, int protocol, const std::string& detail) {
  std::fprintf(stderr, "fuzz_pickle: %s at protocol %d: %s\n", what, protocol, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  mpc::Value value;
  try {
    value = mpc::pickle::loads(input);
  } catch (const mpc::Error&) {
    return 0;  // refused with an mpc error: fine; anything else escapes and is a finding
  }
  (void)mpc::repr(value, 1024);

  for (int protocol = 0; protocol <= mpc::pickle::kHighestProtocol; ++protocol) {
    std::string bytes;
    try {
      bytes = mpc::pickle::dumps(value, protocol);
    } catch (const mpc::ValueError& e) {
      // CPython's own refusals: a text LONG over 4300 digits (protocols 0 and 1).
      if (protocol >= 2) finding("dumps raised ValueError", protocol, e.what());
      continue;
    } catch (const mpc::RecursionError&) {
      continue;  // a tuple or set holding itself with no list or dict between: CPython refuses it too
    }
    mpc::Value back;
    try {
      back = mpc::pickle::loads(bytes);
    } catch (const mpc::Error& e) {
      finding("loads refused what dumps wrote", protocol, e.what());
    }
    try {
      if (!mpc::equal(back, value)) {
        finding("the value changed in a round trip", protocol,
                mpc::repr(value, 300) + " became " + mpc::repr(back, 300));
      }
    } catch (const mpc::RecursionError&) {
      // sets nested more than 200 deep in sets: beyond equal()'s documented bound
    }
    const std::string again = mpc::pickle::dumps(back, protocol);
    if (again != bytes) finding("dumps of the reloaded value wrote other bytes", protocol, mpc::repr(value, 300));
  }
  return 0;
}
