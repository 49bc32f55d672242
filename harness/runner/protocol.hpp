// Decoding and checking of what adapters send (spec/adapter-protocol.md): the one layer every
// frame goes through before the session looks at it, so that a message the session sees is valid
// UTF-8, nested within the bound, JSON, and of the right shape for its type (each field of the
// right type, every typed value well formed). Whatever is wrong is named: the byte offset, the
// bound, or the field as a JSON pointer.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "limits.hpp"
#include "values.hpp"

namespace mpconform {

// A frame or message that breaks the protocol. what() reads after "'<sender>' sent ...", e.g.
// "a bad 'result' message: /value/t must be a string".
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or nullopt if `text` is valid UTF-8.
std::optional<std::size_t> invalid_utf8_offset(std::string_view text);

// `text` with every byte of an ill-formed sequence written as \xNN: valid UTF-8 for any input,
// so that a report can always be written.
std::string valid_utf8(std::string_view text);

// At most `max_bytes` of `text`, cut on a code point boundary, as valid UTF-8, with "…" if cut.
std::string excerpt(std::string_view text, std::size_t max_bytes = 200);

// Offset of the first '[' or '{' (outside strings) that opens a level deeper than `max_depth`,
// or nullopt. One pass, no recursion: it runs before parsing, so that nothing recursive ever
// sees a deeper message.
std::optional<std::size_t> nesting_exceeds(std::string_view text, int max_depth);

// A JSON pointer to the first string (or object key) in `value` that is not valid UTF-8, or
// nullopt. For what the runner sends: a case string that could not be encoded.
std::optional<std::string> invalid_utf8_pointer(const json& value);

// Checks one message from an adapter: an object with "protocol": 1 and a known "type", and the
// fields of that type (spec/adapter-protocol.md). Throws ProtocolError naming the field.
void check_message(const json& message);

// Checks a typed value from an adapter (spec/values.md) at `pointer` in its message. Stricter than
// check_value: runner-only forms (payload, ref) are refused, since comparing a payload an
// adapter chose could cost unbounded time.
void check_adapter_value(const json& value, const std::string& pointer);

// spec/protocol/from-adapter.schema.json (built into the runner at compile time), applied to a
// message check_message has accepted, against the one definition its type (role, status) selects:
// nullopt if it is valid, else "POINTER does not satisfy …: reason", POINTER the deepest field
// (a JSON pointer). The schema's `pattern`s are left out here: check_message checks that number
// and hex text by hand, and valijson's std::regex recurses per character, which a long string of
// an adapter would turn into a stack overflow.
std::optional<std::string> from_adapter_schema_violation(const json& message);

// The whole layer: size, UTF-8, nesting, JSON, check_message, then from_adapter_schema_violation.
// Throws ProtocolError.
json decode_message(std::string_view frame, const Limits& limits);

}  // namespace mpconform
