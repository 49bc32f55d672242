// Family "queues": Queue, JoinableQueue, SimpleQueue.
#pragma once

#include "objects.hpp"

namespace mpconform::cpp_adapter {

// multiprocessing.Queue(maxsize=0) called in a step: the queue is made when the call is made, so
// that a maxsize Python refuses is the call's outcome (functions.cpp).
[[nodiscard]] Invocation queue_constructor(const Args& args);

}  // namespace mpconform::cpp_adapter
