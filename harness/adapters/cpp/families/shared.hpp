// Family "shared": Value, RawValue, Array, RawArray over mpc::SharedValue / mpc::SharedArray.
#pragma once

#include <string>

#include "objects.hpp"

namespace mpconform::cpp_adapter {

// multiprocessing.Value / RawValue / Array / RawArray called in a step: the construction happens
// when the call is made, so that a conversion error is the call's outcome (functions.cpp).
[[nodiscard]] Invocation shared_constructor(const std::string& type, const Args& args);
// multiprocessing.sharedctypes.copy(obj): a new raw object with the contents of a raw Value or Array.
[[nodiscard]] Invocation shared_copy(const Args& args);

}  // namespace mpconform::cpp_adapter
