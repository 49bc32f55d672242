#include "pickle_opcodes.hpp"

#include <array>
#include <string>

namespace mpc::pickle::op {
namespace {

struct Names {
  std::array<std::string, 256> table;
  Names() {
    constexpr char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 256; ++i) table[i] = std::string("0x") + hex[i >> 4] + hex[i & 15];
    const auto set = [&](char opcode, const char* name) { table[static_cast<unsigned char>(opcode)] = name; };
    set(MARK, "MARK");
    set(STOP, "STOP");
    set(POP, "POP");
    set(POP_MARK, "POP_MARK");
    set(DUP, "DUP");
    set(FLOAT, "FLOAT");
    set(INT, "INT");
    set(BININT, "BININT");
    set(BININT1, "BININT1");
    set(LONG, "LONG");
    set(BININT2, "BININT2");
    set(NONE, "NONE");
    set(PERSID, "PERSID");
    set(BINPERSID, "BINPERSID");
    set(REDUCE, "REDUCE");
    set(STRING, "STRING");
    set(BINSTRING, "BINSTRING");
    set(SHORT_BINSTRING, "SHORT_BINSTRING");
    set(UNICODE, "UNICODE");
    set(BINUNICODE, "BINUNICODE");
    set(APPEND, "APPEND");
    set(BUILD, "BUILD");
    set(GLOBAL, "GLOBAL");
    set(DICT, "DICT");
    set(EMPTY_DICT, "EMPTY_DICT");
    set(APPENDS, "APPENDS");
    set(GET, "GET");
    set(BINGET, "BINGET");
    set(INST, "INST");
    set(LONG_BINGET, "LONG_BINGET");
    set(LIST, "LIST");
    set(EMPTY_LIST, "EMPTY_LIST");
    set(OBJ, "OBJ");
    set(PUT, "PUT");
    set(BINPUT, "BINPUT");
    set(LONG_BINPUT, "LONG_BINPUT");
    set(SETITEM, "SETITEM");
    set(TUPLE, "TUPLE");
    set(EMPTY_TUPLE, "EMPTY_TUPLE");
    set(SETITEMS, "SETITEMS");
    set(BINFLOAT, "BINFLOAT");
    set(PROTO, "PROTO");
    set(NEWOBJ, "NEWOBJ");
    set(EXT1, "EXT1");
    set(EXT2, "EXT2");
    set(EXT4, "EXT4");
    set(TUPLE1, "TUPLE1");
    set(TUPLE2, "TUPLE2");
    set(TUPLE3, "TUPLE3");
    set(NEWTRUE, "NEWTRUE");
    set(NEWFALSE, "NEWFALSE");
    set(LONG1, "LONG1");
    set(LONG4, "LONG4");
    set(BINBYTES, "BINBYTES");
    set(SHORT_BINBYTES, "SHORT_BINBYTES");
    set(SHORT_BINUNICODE, "SHORT_BINUNICODE");
    set(BINUNICODE8, "BINUNICODE8");
    set(BINBYTES8, "BINBYTES8");
    set(EMPTY_SET, "EMPTY_SET");
    set(ADDITEMS, "ADDITEMS");
    set(FROZENSET, "FROZENSET");
    set(NEWOBJ_EX, "NEWOBJ_EX");
    set(STACK_GLOBAL, "STACK_GLOBAL");
    set(MEMOIZE, "MEMOIZE");
    set(FRAME, "FRAME");
    set(BYTEARRAY8, "BYTEARRAY8");
    set(NEXT_BUFFER, "NEXT_BUFFER");
    set(READONLY_BUFFER, "READONLY_BUFFER");
  }
};

}  // namespace

std::string_view name(char opcode) noexcept {
  static const Names names;
  return names.table[static_cast<unsigned char>(opcode)];
}

}  // namespace mpc::pickle::op
