// The `exception` object of a result (spec/adapter-protocol.md#exceptions), from what a call into
// mpc threw. mpc's errors know their portable Python names (mpc/errors.hpp); this file only puts
// their message and args in Python's shape.
#pragma once

#include <exception>
#include <optional>

#include <nlohmann/json.hpp>

namespace mpconform::cpp_adapter {

using json = nlohmann::json;

// {"type", "bases", "message", "args"} for an exception with a Python meaning (mpc::Error,
// std::bad_alloc as MemoryError), or nullopt for anything else: a C++ exception that is not
// Python-shaped is not a conformance outcome, and the adapter does not invent one.
[[nodiscard]] std::optional<json> describe_exception(std::exception_ptr error);

}  // namespace mpconform::cpp_adapter
