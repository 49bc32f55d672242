// Private: pickle opcodes (Lib/pickle.py names) and their names for messages.
#pragma once

#include <cstdint>
#include <string_view>

namespace mpc::pickle::op {

inline constexpr char MARK = '(';
inline constexpr char STOP = '.';
inline constexpr char POP = '0';
inline constexpr char POP_MARK = '1';
inline constexpr char DUP = '2';
inline constexpr char FLOAT = 'F';
inline constexpr char INT = 'I';
inline constexpr char BININT = 'J';
inline constexpr char BININT1 = 'K';
inline constexpr char LONG = 'L';
inline constexpr char BININT2 = 'M';
inline constexpr char NONE = 'N';
inline constexpr char PERSID = 'P';
inline constexpr char BINPERSID = 'Q';
inline constexpr char REDUCE = 'R';
inline constexpr char STRING = 'S';
inline constexpr char BINSTRING = 'T';
inline constexpr char SHORT_BINSTRING = 'U';
inline constexpr char UNICODE = 'V';
inline constexpr char BINUNICODE = 'X';
inline constexpr char APPEND = 'a';
inline constexpr char BUILD = 'b';
inline constexpr char GLOBAL = 'c';
inline constexpr char DICT = 'd';
inline constexpr char EMPTY_DICT = '}';
inline constexpr char APPENDS = 'e';
inline constexpr char GET = 'g';
inline constexpr char BINGET = 'h';
inline constexpr char INST = 'i';
inline constexpr char LONG_BINGET = 'j';
inline constexpr char LIST = 'l';
inline constexpr char EMPTY_LIST = ']';
inline constexpr char OBJ = 'o';
inline constexpr char PUT = 'p';
inline constexpr char BINPUT = 'q';
inline constexpr char LONG_BINPUT = 'r';
inline constexpr char SETITEM = 's';
inline constexpr char TUPLE = 't';
inline constexpr char EMPTY_TUPLE = ')';
inline constexpr char SETITEMS = 'u';
inline constexpr char BINFLOAT = 'G';
inline constexpr char PROTO = '\x80';
inline constexpr char NEWOBJ = '\x81';
inline constexpr char EXT1 = '\x82';
inline constexpr char EXT2 = '\x83';
inline constexpr char EXT4 = '\x84';
inline constexpr char TUPLE1 = '\x85';
inline constexpr char TUPLE2 = '\x86';
inline constexpr char TUPLE3 = '\x87';
inline constexpr char NEWTRUE = '\x88';
inline constexpr char NEWFALSE = '\x89';
inline constexpr char LONG1 = '\x8a';
inline constexpr char LONG4 = '\x8b';
inline constexpr char BINBYTES = 'B';
inline constexpr char SHORT_BINBYTES = 'C';
inline constexpr char SHORT_BINUNICODE = '\x8c';
inline constexpr char BINUNICODE8 = '\x8d';
inline constexpr char BINBYTES8 = '\x8e';
inline constexpr char EMPTY_SET = '\x8f';
inline constexpr char ADDITEMS = '\x90';
inline constexpr char FROZENSET = '\x91';
inline constexpr char NEWOBJ_EX = '\x92';
inline constexpr char STACK_GLOBAL = '\x93';
inline constexpr char MEMOIZE = '\x94';
inline constexpr char FRAME = '\x95';
inline constexpr char BYTEARRAY8 = '\x96';
inline constexpr char NEXT_BUFFER = '\x97';
inline constexpr char READONLY_BUFFER = '\x98';

// "BINUNICODE", or "0xNN" for a byte that is no opcode.
std::string_view name(char opcode) noexcept;

}  // namespace mpc::pickle::op
