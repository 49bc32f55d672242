// mpc's errors in Python's shape: type, bases, message and args as CPython reports them.
#include <gtest/gtest.h>

#include <cerrno>
#include <new>

#include "exceptions.hpp"
#include "mpc/errors.hpp"

namespace mpconform::cpp_adapter {
namespace {

template <class E>
json described(E error) {
  auto out = describe_exception(std::make_exception_ptr(std::move(error)));
  EXPECT_TRUE(out.has_value());
  return out.value_or(json());
}

TEST(DescribeException, GivesAnEmptyExceptionNoArgs) {
  json e = described(mpc::QueueEmpty(""));
  EXPECT_EQ(e["type"], "queue.Empty");
  EXPECT_EQ(e["bases"], json::array({"Exception"}));
  EXPECT_EQ(e["message"], "");
  EXPECT_EQ(e["args"], json::array());
}

TEST(DescribeException, GivesAMessageAsTheOnlyArg) {
  json e = described(mpc::ValueError("negative maxlength"));
  EXPECT_EQ(e["type"], "ValueError");
  EXPECT_EQ(e["args"], json::parse(R"([{"t": "str", "v": "negative maxlength"}])"));
}

TEST(DescribeException, GivesErrnoAndStrerrorForAnOSErrorWithErrno) {
  json e = described(mpc::BrokenPipeError("[Errno 32] Broken pipe", EPIPE));
  EXPECT_EQ(e["type"], "BrokenPipeError");
  EXPECT_EQ(e["bases"], json::array({"ConnectionError", "OSError", "Exception"}));
  EXPECT_EQ(e["message"], "[Errno 32] Broken pipe");
  EXPECT_EQ(e["args"], json::parse(R"([{"t": "int", "v": "32"}, {"t": "str", "v": "Broken pipe"}])"));
}

TEST(DescribeException, GivesTheWholeMessageAsBufferTooShortsArg) {
  json e = described(mpc::BufferTooShort(std::string("ab\0c", 4)));
  EXPECT_EQ(e["type"], "multiprocessing.BufferTooShort");
  EXPECT_EQ(e["bases"], json::array({"multiprocessing.ProcessError", "Exception"}));
  EXPECT_EQ(e["message"], "b'ab\\x00c'");
  EXPECT_EQ(e["args"], json::parse(R"([{"t": "bytes", "v": "61620063"}])"));
}

TEST(DescribeException, MapsBadAllocToMemoryError) { EXPECT_EQ(described(std::bad_alloc())["type"], "MemoryError"); }

TEST(DescribeException, InventsNothingForOtherCppExceptions) {
  EXPECT_FALSE(describe_exception(std::make_exception_ptr(std::runtime_error("x"))).has_value());
  EXPECT_FALSE(describe_exception(std::make_exception_ptr(42)).has_value());
}

}  // namespace
}  // namespace mpconform::cpp_adapter
