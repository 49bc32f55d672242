// Private: pickle fast paths for a lone scalar (None, bool, an int of 32 bits, a float) at
// protocols 2-5, the typical small Queue item. They give exactly what the general encoder and
// decoder give, without their set-up (memo, stack, arena); anything else is left to those.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mpc/value.hpp"

namespace mpc::pickle::fast {

// The bytes of pickle.dumps(v, protocol), or nullopt when v or protocol is not covered.
std::optional<std::string> dump_scalar(const Value& v, int protocol);

// The value of `data` when it is exactly PROTO 2-5, an optional FRAME covering the rest, one
// scalar opcode and STOP; nullopt for anything else (including anything malformed, so that the
// general decoder reports it).
std::optional<Value> load_scalar(std::string_view data);

}  // namespace mpc::pickle::fast
