#include "mpc/shared_value.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "mpc/errors.hpp"
#include "shared_mapping.hpp"

namespace mpc {

namespace {

using K = CType::Kind;

// multiprocessing.sharedctypes.typecode_to_type, with ctypes' sizes on Linux x86-64 (LP64,
// 4-byte wchar_t). 'q' and 'Q' are c_longlong and c_ulonglong, which ctypes makes c_long and
// c_ulong themselves (their __name__ too) where long long and long have one size.
constexpr CType kCTypes[] = {
    {'c', "c_char", 1, K::byte_char},     {'u', "c_wchar", 4, K::wide_char},   {'b', "c_byte", 1, K::signed_int},
    {'B', "c_ubyte", 1, K::unsigned_int}, {'h', "c_short", 2, K::signed_int},  {'H', "c_ushort", 2, K::unsigned_int},
    {'i', "c_int", 4, K::signed_int},     {'I', "c_uint", 4, K::unsigned_int}, {'l', "c_long", 8, K::signed_int},
    {'L', "c_ulong", 8, K::unsigned_int}, {'q', "c_long", 8, K::signed_int},   {'Q', "c_ulong", 8, K::unsigned_int},
    {'f', "c_float", 4, K::floating},     {'d', "c_double", 8, K::floating},
};

// ctypes.c_bool: 1 byte, no typecode.
constexpr CType kCBool = {'\0', "c_bool", 1, K::boolean};

// ctypes.NAME -> the typecode of its type (the 14 of the table under their own names, then the
// aliases ctypes defines on Linux x86-64); c_bool is looked up on its own.
constexpr std::pair<std::string_view, char> kCTypeNames[] = {
    {"c_char", 'c'},  {"c_wchar", 'u'},  {"c_byte", 'b'},  {"c_ubyte", 'B'},  {"c_short", 'h'},    {"c_ushort", 'H'},
    {"c_int", 'i'},   {"c_uint", 'I'},   {"c_long", 'l'},  {"c_ulong", 'L'},  {"c_longlong", 'q'}, {"c_ulonglong", 'Q'},
    {"c_float", 'f'}, {"c_double", 'd'}, {"c_int8", 'b'},  {"c_uint8", 'B'},  {"c_int16", 'h'},    {"c_uint16", 'H'},
    {"c_int32", 'i'}, {"c_uint32", 'I'}, {"c_int64", 'l'}, {"c_uint64", 'L'}, {"c_ssize_t", 'l'},  {"c_size_t", 'L'},
};

// The CType an object keeps a pointer to: one of mpc's own.
const CType* checked(const CType& type) {
  if (&type == &kCBool) return &type;
  for (const CType& t : kCTypes) {
    if (&t == &type) return &type;
  }
  throw std::invalid_argument("mpc: a CType not from mpc::ctypes(), ctype_of() or ctype_named()");
}

// Python's bool(v).
bool truth(const Value& v) {
  switch (v.kind()) {
    case Kind::None: return false;
    case Kind::Bool: return v.as_bool();
    case Kind::Int: return !v.as_int().is_zero();
    case Kind::Float: return v.as_float() != 0.0;  // NaN is true, as in Python
    case Kind::Str:
    case Kind::Bytes:
    case Kind::ByteArray: return !v.data().empty();
    case Kind::List:
    case Kind::Tuple:
    case Kind::Dict:
    case Kind::Set:
    case Kind::FrozenSet: return v.size() != 0;
    case Kind::Connection:
    case Kind::Unpicklable: return true;  // an object without __bool__ or __len__
  }
  return true;
}

std::string type_name(const Value& v) { return std::string(kind_name(v.kind())); }

// The low 64 bits of an int, two's complement (ctypes' silent truncation).
std::uint64_t low_bits(const Value& v) {
  if (v.is(Kind::Bool)) return v.as_bool() ? 1 : 0;
  if (auto small = v.to_int64()) return static_cast<std::uint64_t>(*small);
  const std::string le = v.as_int().to_signed_le();  // minimal little-endian two's complement
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const unsigned char byte = i < le.size() ? static_cast<unsigned char>(le[i])
                               : (!le.empty() && (static_cast<unsigned char>(le.back()) & 0x80)) ? 0xff
                                                                                                 : 0x00;
    bits |= std::uint64_t{byte} << (8 * i);
  }
  return bits;
}

double to_double(const Value& v) {
  switch (v.kind()) {
    case Kind::Float: return v.as_float();
    case Kind::Bool: return v.as_bool() ? 1.0 : 0.0;
    case Kind::Int: {
      if (auto small = v.to_int64()) return static_cast<double>(*small);
      const std::string text = v.as_int().to_decimal();
      errno = 0;
      const double d = std::strtod(text.c_str(), nullptr);  // correctly rounded
      if (errno == ERANGE && std::isinf(d)) throw OverflowError("int too large to convert to float");
      return d;
    }
    default: throw TypeError("must be real number, not " + type_name(v));
  }
}

// Decodes one code point of UTF-8 (surrogates allowed, as CPython's "surrogatepass").
bool single_code_point(std::string_view s, std::uint32_t& cp) {
  if (s.empty()) return false;
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || s.size() != n) return false;
  cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1f) : n == 3 ? (b0 & 0x0f) : (b0 & 0x07);
  for (std::size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3f);
  return true;
}

std::string utf8_of(std::uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | ((cp >> 18) & 0x07));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return out;
}

// Converts v for `t` into `out` (t.size bytes), or throws ctypes' error; writes nothing then.
void convert(const CType& t, const Value& v, unsigned char* out) {
  switch (t.kind) {
    case K::signed_int:
    case K::unsigned_int: {
      if (v.is(Kind::Float)) throw TypeError("'float' object cannot be interpreted as an integer");
      if (!v.is(Kind::Int) && !v.is(Kind::Bool)) {
        throw TypeError("'" + type_name(v) + "' object cannot be interpreted as an integer");
      }
      const std::uint64_t bits = low_bits(v);
      std::memcpy(out, &bits, t.size);  // little-endian: the low bytes come first
      return;
    }
    case K::floating: {
      const double d = to_double(v);
      if (t.size == 4) {
        const float f = static_cast<float>(d);
        std::memcpy(out, &f, 4);
      } else {
        std::memcpy(out, &d, 8);
      }
      return;
    }
    case K::byte_char: {
      if ((v.is(Kind::Bytes) || v.is(Kind::ByteArray)) && v.data().size() == 1) {
        out[0] = static_cast<unsigned char>(v.data()[0]);
        return;
      }
      if (v.is(Kind::Int) || v.is(Kind::Bool)) {
        auto n = v.is(Kind::Bool) ? std::optional<std::int64_t>(v.as_bool() ? 1 : 0) : v.to_int64();
        if (n && *n >= 0 && *n <= 255) {
          out[0] = static_cast<unsigned char>(*n);
          return;
        }
      }
      throw TypeError("one character bytes, bytearray or integer expected");
    }
    case K::wide_char: {
      if (!v.is(Kind::Str)) throw TypeError("unicode string expected instead of " + type_name(v) + " instance");
      std::uint32_t cp = 0;
      if (!single_code_point(v.data(), cp)) throw TypeError("one character unicode string expected");
      std::memcpy(out, &cp, 4);
      return;
    }
    case K::boolean: out[0] = truth(v) ? 1 : 0; return;
  }
}

Value load(const CType& t, const unsigned char* in) {
  switch (t.kind) {
    case K::signed_int: {
      std::uint64_t bits = 0;
      std::memcpy(&bits, in, t.size);
      const unsigned shift = 64 - 8 * static_cast<unsigned>(t.size);
      const auto value = static_cast<std::int64_t>(bits << shift) >> shift;  // sign-extend
      return Value::integer(value);
    }
    case K::unsigned_int: {
      std::uint64_t bits = 0;
      std::memcpy(&bits, in, t.size);
      if (bits <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Value::integer(static_cast<std::int64_t>(bits));
      }
      return Value::integer(BigInt::from_decimal(std::to_string(bits)));
    }
    case K::floating: {
      if (t.size == 4) {
        float f;
        std::memcpy(&f, in, 4);
        return Value::floating(f);
      }
      double d;
      std::memcpy(&d, in, 8);
      return Value::floating(d);
    }
    case K::byte_char: return Value::bytes(std::string(1, static_cast<char>(in[0])));
    case K::wide_char: {
      std::uint32_t cp;
      std::memcpy(&cp, in, 4);
      return Value::str(utf8_of(cp));
    }
    case K::boolean: return Value::boolean(in[0] != 0);
  }
  return {};
}

std::optional<AnyLock> make_lock(const LockArg& lock) {
  if (const bool* b = std::get_if<bool>(&lock)) {
    if (!*b) return std::nullopt;
    return AnyLock(RLock());
  }
  if (const Lock* l = std::get_if<Lock>(&lock)) return AnyLock(*l);
  return AnyLock(std::get<RLock>(lock));
}

// Holds the lock of a synchronized object (if any) for one access.
class Hold {
 public:
  explicit Hold(const std::optional<AnyLock>& lock) : lock_(const_cast<std::optional<AnyLock>&>(lock)) {
    if (lock_) lock_->acquire();
  }
  ~Hold() {
    if (lock_) lock_->release();
  }
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;

 private:
  std::optional<AnyLock>& lock_;
};

// ctypes' class names: c_int, c_int_Array_3.
[[noreturn]] void no_attribute(const CType& t, std::optional<std::size_t> array_length, const char* attribute) {
  std::string name(t.name);
  if (array_length) name += "_Array_" + std::to_string(*array_length);
  throw AttributeError("'" + name + "' object has no attribute '" + attribute + "'");
}

}  // namespace

std::span<const CType> ctypes() { return kCTypes; }

const CType& ctype_of(char typecode) {
  for (const CType& t : kCTypes) {
    if (t.typecode == typecode) return t;
  }
  throw TypeError("this type has no size");
}

const CType* ctype_named(std::string_view name) {
  if (name == kCBool.name) return &kCBool;
  for (const auto& [ctypes_name, typecode] : kCTypeNames) {
    if (ctypes_name == name) return &ctype_of(typecode);
  }
  return nullptr;
}

// ---- SharedValue --------------------------------------------------------------------------------

SharedValue::SharedValue(const CType& type, const std::optional<Value>& initial, LockArg lock) : ctype_(checked(type)) {
  unsigned char bytes[8] = {};
  if (initial) convert(*ctype_, *initial, bytes);  // before allocating: a bad value makes nothing
  mem_ = detail::map_shared(ctype_->size);
  data_ = mem_.get();
  std::memcpy(data_, bytes, ctype_->size);
  lock_ = make_lock(lock);
}

Value SharedValue::value() const {
  Hold hold(lock_);
  return load(*ctype_, static_cast<const unsigned char*>(data_));
}

void SharedValue::set_value(const Value& v) {
  unsigned char bytes[8];
  convert(*ctype_, v, bytes);
  Hold hold(lock_);
  std::memcpy(data_, bytes, ctype_->size);
}

AnyLock& SharedValue::get_lock() {
  if (!lock_) no_attribute(*ctype_, std::nullopt, "get_lock");
  return *lock_;
}

SharedValue SharedValue::copy() const {
  if (lock_) throw TypeError("this type has no size");
  SharedValue fresh(ctype_, detail::map_shared(ctype_->size));
  std::memcpy(fresh.data_, data_, ctype_->size);
  return fresh;
}

SharedValue SharedValue::get_obj() const {
  if (!lock_) no_attribute(*ctype_, std::nullopt, "get_obj");
  return SharedValue(ctype_, mem_);
}

std::string SharedValue::repr() const {
  const std::string inner = std::string(ctype_->name) + "(" + mpc::repr(value()) + ")";
  return lock_ ? "<Synchronized wrapper for " + inner + ">" : inner;
}

// ---- SharedArray --------------------------------------------------------------------------------

void SharedArray::init(const CType& type, std::int64_t length, LockArg lock) {
  ctype_ = checked(type);
  if (length < 0) throw ValueError("Array length must be >= 0, not " + std::to_string(length));
  length_ = static_cast<std::size_t>(length);
  mem_ = detail::map_shared(std::max<std::size_t>(1, length_ * ctype_->size));
  data_ = mem_.get();
  lock_ = make_lock(lock);
}

SharedArray::SharedArray(const CType& type, std::int64_t length, LockArg lock) { init(type, length, std::move(lock)); }

SharedArray::SharedArray(const CType& type, const std::vector<Value>& items, LockArg lock) {
  const CType& t = *checked(type);
  std::vector<unsigned char> bytes(items.size() * t.size);
  for (std::size_t i = 0; i < items.size(); ++i) convert(t, items[i], bytes.data() + i * t.size);
  init(t, static_cast<std::int64_t>(items.size()), std::move(lock));
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

Value SharedArray::at(std::int64_t index) const {
  const auto n = static_cast<std::int64_t>(length_);
  if (index < 0) index += n;
  if (index < 0 || index >= n) throw IndexError("invalid index");
  Hold hold(lock_);
  return load(*ctype_, static_cast<const unsigned char*>(data_) + static_cast<std::size_t>(index) * ctype_->size);
}

void SharedArray::set(std::int64_t index, const Value& v) {
  const auto n = static_cast<std::int64_t>(length_);
  if (index < 0) index += n;
  if (index < 0 || index >= n) throw IndexError("invalid index");
  unsigned char bytes[8];
  convert(*ctype_, v, bytes);
  Hold hold(lock_);
  std::memcpy(static_cast<unsigned char*>(data_) + static_cast<std::size_t>(index) * ctype_->size, bytes, ctype_->size);
}

namespace {
// Python's slice.indices() for step 1.
std::pair<std::size_t, std::size_t> clamp_slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                                                std::size_t length) {
  const auto n = static_cast<std::int64_t>(length);
  auto fix = [n](std::optional<std::int64_t> i, std::int64_t dflt) {
    if (!i) return dflt;
    std::int64_t v = *i < 0 ? *i + n : *i;
    return std::clamp<std::int64_t>(v, 0, n);
  };
  const std::int64_t a = fix(start, 0);
  const std::int64_t b = std::max(a, fix(stop, n));
  return {static_cast<std::size_t>(a), static_cast<std::size_t>(b)};
}
}  // namespace

std::vector<Value> SharedArray::slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop) const {
  const auto [a, b] = clamp_slice(start, stop, length_);
  std::vector<Value> out;
  out.reserve(b - a);
  Hold hold(lock_);
  const auto* base = static_cast<const unsigned char*>(data_);
  for (std::size_t i = a; i < b; ++i) out.push_back(load(*ctype_, base + i * ctype_->size));
  return out;
}

void SharedArray::set_slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                            const std::vector<Value>& items) {
  const auto [a, b] = clamp_slice(start, stop, length_);
  if (items.size() != b - a) throw ValueError("Can only assign sequence of same size");
  std::vector<unsigned char> bytes(items.size() * ctype_->size);
  for (std::size_t i = 0; i < items.size(); ++i) convert(*ctype_, items[i], bytes.data() + i * ctype_->size);
  Hold hold(lock_);
  if (!bytes.empty()) std::memcpy(static_cast<unsigned char*>(data_) + a * ctype_->size, bytes.data(), bytes.size());
}

void SharedArray::require_char(const char* what) const {
  if (ctype_->kind != K::byte_char) {
    if (lock_) throw AttributeError(std::string("'SynchronizedArray' object has no attribute '") + what + "'");
    no_attribute(*ctype_, length_, what);
  }
}

void SharedArray::require_value() const {
  if (ctype_->kind == K::wide_char && !lock_) return;
  require_char("value");
}

std::string SharedArray::value() const {
  require_value();
  Hold hold(lock_);
  if (ctype_->kind == K::wide_char) {
    const auto* p = static_cast<const char32_t*>(data_);
    std::string out;
    for (std::size_t i = 0; i < length_ && p[i] != 0; ++i) out += utf8_of(p[i]);
    return out;
  }
  const auto* p = static_cast<const char*>(data_);
  return std::string(p, strnlen(p, length_));
}

void SharedArray::set_value(std::string_view bytes) {
  require_value();
  if (ctype_->kind == K::wide_char) {
    std::vector<char32_t> points;
    for (std::size_t i = 0; i < bytes.size();) {
      const auto b0 = static_cast<unsigned char>(bytes[i]);
      const std::size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : 4;
      std::uint32_t cp = 0;
      if (i + n > bytes.size() || !single_code_point(bytes.substr(i, n), cp))
        throw std::invalid_argument("set_value: not UTF-8");
      points.push_back(cp);
      i += n;
    }
    if (points.size() > length_) throw ValueError("string too long");
    Hold hold(lock_);
    auto* p = static_cast<char32_t*>(data_);
    std::copy(points.begin(), points.end(), p);
    if (points.size() < length_) p[points.size()] = 0;
    return;
  }
  if (bytes.size() > length_) throw ValueError("byte string too long");
  Hold hold(lock_);
  auto* p = static_cast<char*>(data_);
  std::memcpy(p, bytes.data(), bytes.size());
  if (bytes.size() < length_) p[bytes.size()] = '\0';
}

std::string SharedArray::raw_bytes() const {
  require_char("raw");
  Hold hold(lock_);
  return std::string(static_cast<const char*>(data_), length_);
}

void SharedArray::set_raw(std::string_view bytes) {
  require_char("raw");
  if (bytes.size() > length_) throw ValueError("byte string too long");
  Hold hold(lock_);
  std::memcpy(data_, bytes.data(), bytes.size());
}

AnyLock& SharedArray::get_lock() {
  if (!lock_) no_attribute(*ctype_, length_, "get_lock");
  return *lock_;
}

SharedArray SharedArray::copy() const {
  if (lock_) throw TypeError("this type has no size");
  SharedArray fresh(*ctype_, static_cast<std::int64_t>(length_), false);
  if (length_ != 0) std::memcpy(fresh.data_, data_, length_ * ctype_->size);
  return fresh;
}

SharedArray SharedArray::get_obj() const {
  if (!lock_) no_attribute(*ctype_, length_, "get_obj");
  SharedArray raw;
  raw.ctype_ = ctype_;
  raw.length_ = length_;
  raw.mem_ = mem_;
  raw.data_ = data_;
  return raw;
}

}  // namespace mpc
