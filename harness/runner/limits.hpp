// Bounds on what the runner accepts from case files and from adapters. A case file or a message
// past one of them is rejected with a clear error naming the file or message and the bound, so
// that no input makes the runner use unbounded time or memory. Each is a command-line option
// (see main.cpp's --help); spec/case-format.md#limits and spec/adapter-protocol.md#limits say
// what they mean.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mpconform {

struct Limits {
  // ---- case files ----
  std::size_t case_file_bytes = 1 << 20;      // --max-case-bytes: size of one case file
  std::uint64_t generated_items = 1'000'000;  // --max-generated-items: YAML nodes visited (aliases
                                              // expanded) plus items made by $range, per case
  std::uint64_t payload_bytes = 256u << 20;   // --max-payload-bytes: size of one $payload
  int case_nesting = 64;                      // --max-case-nesting: YAML nesting depth
  double case_timeout = 600;                  // --max-case-timeout: a case's `timeout`, seconds

  // ---- adapter messages ----
  std::size_t frame_bytes = 64u << 20;  // --max-frame-bytes: one frame from an adapter
  int message_nesting = 256;            // --max-message-nesting: JSON nesting depth of one message
};

}  // namespace mpconform
