// mpc/shared_value.hpp: multiprocessing.Value / Array / RawValue / RawArray for C++.
//
// A SharedValue or SharedArray holds ctypes-shaped data (CPython's typecodes and, on Linux
// x86-64, their sizes) in an anonymous MAP_SHARED mapping made when it is constructed: copies
// of the handle and fork()ed children (mpc::Process) see the same memory. The mapping is
// freed when the last process holding it drops it or exits; nothing is left in /dev/shm.
//
// Synchronized (Value/Array) or raw (RawValue/RawArray), as CPython's `lock` argument says:
// true (default) makes a new RLock, false none, a given Lock or RLock is used as is (and
// get_lock() returns that same lock every time). On a synchronized object value()/set_value(),
// at()/set() and the slice and string accessors hold the lock for their access, as CPython's
// Synchronized wrappers do; `v.set_value(v.value() + 1)` is still two accesses, so an
// increment needs `LockGuard guard(v.get_lock())` (or AnyLock::acquire) around it.
// get_lock() of a raw object raises AttributeError ("'c_int' object has no attribute
// 'get_lock'"), as CPython's raw ctypes objects have no such attribute.
//
// Values are mpc::Values with ctypes' conversions (CPython 3.10+ messages):
// - integer typecodes take int or bool, and wrap silently modulo 2^bits (Value('i', 2**40) is
//   0, Value('b', 300) is 44); a float raises TypeError "'float' object cannot be interpreted
//   as an integer", any other type "'<type>' object cannot be interpreted as an integer";
// - 'f'/'d' take float, int or bool ('f' rounds to float32; an int beyond double raises
//   OverflowError "int too large to convert to float"); others: "must be real number, not <type>";
// - 'c' takes bytes/bytearray of length 1 or an int 0..255 (else TypeError "one character
//   bytes, bytearray or integer expected") and reads as bytes of length 1;
// - 'u' (wchar_t, 4 bytes) takes a str of one code point (TypeError "one character unicode
//   string expected"; a non-str: "unicode string expected instead of <type> instance");
// - c_bool (a ctypes type no typecode names: Value('?') raises) takes any value as Python's
//   bool() does (Value(c_bool, 256) is True, Value(c_bool, '') False) and reads as bool.
//
// A ctypes type may be given instead of a typecode, as CPython's typecode_or_type:
// SharedValue(*ctype_named("c_int"), Value::integer(5)) is Value(ctypes.c_int, 5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "mpc/sync.hpp"
#include "mpc/value.hpp"

namespace mpc {

// One ctypes type a shared object can hold: those of multiprocessing.sharedctypes.typecode_to_type
// and c_bool. Objects keep a pointer to it: use only the CTypes of ctypes(), ctype_of() and
// ctype_named().
struct CType {
  char typecode;          // '\0' for c_bool, which has none
  std::string_view name;  // ctypes' __name__: "c_int"; 'q' and 'Q' are "c_long" and "c_ulong",
                          // as ctypes makes c_longlong the same class as c_long where both are 8 bytes
  std::size_t size;       // bytes on Linux x86-64
  enum class Kind : std::uint8_t { signed_int, unsigned_int, floating, byte_char, wide_char, boolean } kind;
};

// The 14 typecodes CPython accepts: 'c','b','B','h','H','i','I','l','L','q','Q','f','d','u'.
[[nodiscard]] std::span<const CType> ctypes();
// TypeError("this type has no size") for any other typecode (what CPython's ctypes.sizeof
// says of the unknown typecode it passes through).
[[nodiscard]] const CType& ctype_of(char typecode);
// The ctypes type ctypes.NAME: c_char, c_wchar, c_byte, c_ubyte, c_short, c_ushort, c_int,
// c_uint, c_long, c_ulong, c_longlong, c_ulonglong, c_float, c_double, c_bool, and the aliases
// ctypes defines on Linux x86-64 (c_int8 is c_byte, c_uint16 c_ushort, c_int32 c_int, c_int64
// and c_ssize_t c_long, c_uint64 and c_size_t c_ulong). nullptr for any other name: ctypes'
// pointers (c_char_p, c_void_p, c_wchar_p), c_longdouble and py_object have no mpc type.
[[nodiscard]] const CType* ctype_named(std::string_view name);

// CPython's `lock` argument: true, false, or the Lock/RLock to use.
using LockArg = std::variant<bool, Lock, RLock>;

class SharedValue {
 public:
  // Value(typecode, initial, lock=...). No initial: zero (b'\x00', '\x00', 0.0, False).
  explicit SharedValue(char typecode, const std::optional<Value>& initial = std::nullopt, LockArg lock = true)
      : SharedValue(ctype_of(typecode), initial, std::move(lock)) {}
  // Value(ctypes_type, initial, lock=...): `type` is one of mpc's CTypes (std::invalid_argument
  // otherwise).
  explicit SharedValue(const CType& type, const std::optional<Value>& initial = std::nullopt, LockArg lock = true);
  // RawValue(typecode_or_type, initial).
  static SharedValue raw(char typecode, const std::optional<Value>& initial = std::nullopt) {
    return SharedValue(typecode, initial, false);
  }
  static SharedValue raw(const CType& type, const std::optional<Value>& initial = std::nullopt) {
    return SharedValue(type, initial, false);
  }

  [[nodiscard]] const CType& ctype() const noexcept { return *ctype_; }
  [[nodiscard]] Value value() const;
  void set_value(const Value& v);

  [[nodiscard]] bool synchronized() const noexcept { return lock_.has_value(); }
  // The same lock every time. AttributeError on a raw value.
  [[nodiscard]] AnyLock& get_lock();
  [[nodiscard]] bool is_same(const SharedValue& other) const noexcept { return data_ == other.data_; }
  // get_obj(): the raw ctypes object behind a synchronized value, the same memory with no lock
  // (what writes through it, the synchronized value reads). AttributeError on a raw value.
  [[nodiscard]] SharedValue get_obj() const;
  // sharedctypes.copy(obj): a new raw value in new shared memory holding this one's contents. Like
  // CPython's it takes a raw value: a synchronized one raises TypeError("this type has no size"),
  // what ctypes.sizeof says of the wrapper's class.
  [[nodiscard]] SharedValue copy() const;
  // "<Synchronized wrapper for c_int(3)>" / "c_int(3)".
  [[nodiscard]] std::string repr() const;

  // The shared bytes, for typed access from C++ (`*static_cast<int*>(v.data())` for 'i'); no
  // locking.
  [[nodiscard]] void* data() const noexcept { return data_; }

 private:
  SharedValue(const CType* ctype, std::shared_ptr<void> mem) : ctype_(ctype), mem_(std::move(mem)), data_(mem_.get()) {}
  const CType* ctype_;
  std::shared_ptr<void> mem_;
  void* data_;
  std::optional<AnyLock> lock_;
};

class SharedArray {
 public:
  // Array(typecode, n): n zeroed items; ValueError("Array length must be >= 0, not -1").
  SharedArray(char typecode, std::int64_t length, LockArg lock = true)
      : SharedArray(ctype_of(typecode), length, std::move(lock)) {}
  // Array(typecode, sequence): one item per Value, converted as SharedValue does.
  SharedArray(char typecode, const std::vector<Value>& items, LockArg lock = true)
      : SharedArray(ctype_of(typecode), items, std::move(lock)) {}
  // Array(ctypes_type, n) and Array(ctypes_type, sequence), `type` one of mpc's CTypes.
  SharedArray(const CType& type, std::int64_t length, LockArg lock = true);
  SharedArray(const CType& type, const std::vector<Value>& items, LockArg lock = true);
  static SharedArray raw(char typecode, std::int64_t length) { return SharedArray(typecode, length, false); }
  static SharedArray raw(char typecode, const std::vector<Value>& items) { return SharedArray(typecode, items, false); }
  static SharedArray raw(const CType& type, std::int64_t length) { return SharedArray(type, length, false); }
  static SharedArray raw(const CType& type, const std::vector<Value>& items) { return SharedArray(type, items, false); }

  [[nodiscard]] const CType& ctype() const noexcept { return *ctype_; }
  [[nodiscard]] std::size_t size() const noexcept { return length_; }
  // Python indexing: negative counts from the end; IndexError("invalid index") outside.
  [[nodiscard]] Value at(std::int64_t index) const;
  void set(std::int64_t index, const Value& v);
  // Python slices [start:stop] (step 1), clamped as Python clamps them; nullopt = open end.
  [[nodiscard]] std::vector<Value> slice(std::optional<std::int64_t> start = std::nullopt,
                                         std::optional<std::int64_t> stop = std::nullopt) const;
  // ValueError("Can only assign sequence of same size") unless items fill the slice exactly.
  void set_slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop, const std::vector<Value>& items);

  // value/set_value: c_char arrays (synchronized or raw) and raw c_wchar arrays, as in CPython,
  // where only 'c' has a synchronized wrapper with value (SynchronizedString) while a raw
  // c_wchar array has ctypes' own value. A c_char array's value is its bytes up to the first
  // NUL; a c_wchar array's is its code points up to the first NUL, as UTF-8 (a Python str).
  // set_value writes them (UTF-8 text for c_wchar) and a NUL after them if there is room;
  // ValueError("byte string too long") / ValueError("string too long") beyond the array.
  // raw_bytes/set_raw: c_char arrays only: raw is every byte; set_raw overwrites the first
  // bytes (ValueError("byte string too long") beyond). Any other array raises AttributeError,
  // naming 'SynchronizedArray' for a synchronized one, as CPython's wrapper class does, or
  // ctypes' class ('c_wchar_Array_3') for a raw one.
  [[nodiscard]] std::string value() const;
  void set_value(std::string_view bytes);
  [[nodiscard]] std::string raw_bytes() const;
  void set_raw(std::string_view bytes);

  [[nodiscard]] bool synchronized() const noexcept { return lock_.has_value(); }
  [[nodiscard]] AnyLock& get_lock();
  [[nodiscard]] bool is_same(const SharedArray& other) const noexcept { return data_ == other.data_; }
  // get_obj(): the raw array behind a synchronized one (same memory, no lock); AttributeError on a
  // raw array.
  [[nodiscard]] SharedArray get_obj() const;
  // sharedctypes.copy(obj) of a raw array: a new raw array with the same items; TypeError for a
  // synchronized one, as SharedValue::copy.
  [[nodiscard]] SharedArray copy() const;
  [[nodiscard]] void* data() const noexcept { return data_; }

 private:
  SharedArray() = default;
  void init(const CType& type, std::int64_t length, LockArg lock);
  void require_char(const char* what) const;
  void require_value() const;
  const CType* ctype_ = nullptr;
  std::size_t length_ = 0;
  std::shared_ptr<void> mem_;
  void* data_ = nullptr;
  std::optional<AnyLock> lock_;
};

}  // namespace mpc
