// Python-shaped exceptions of the mpc library.
//
// Every error the library throws derives from mpc::Error. Each type knows the portable Python
// name it stands for (spec/adapter-protocol.md#exceptions) and the portable names of its Python
// base classes, nearest first, so an adapter can report `{"type": ..., "bases": [...]}` without
// a table of its own.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mpc {

// Python's `Exception`. The base of everything mpc throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}

  // Portable name of the Python type, e.g. "ValueError", "queue.Empty".
  [[nodiscard]] virtual std::string_view python_type() const noexcept { return "Exception"; }

  // Portable names of the Python base classes, nearest first, ending with "Exception"
  // (empty for Error itself).
  [[nodiscard]] virtual std::vector<std::string_view> python_bases() const { return {}; }
};

// Defines `Name : Parent` reporting `py_name` with `Parent`'s type and bases as its bases.
#define MPC_DEFINE_ERROR(Name, Parent, py_name)                                              \
  class Name : public Parent {                                                               \
   public:                                                                                   \
    using Parent::Parent;                                                                    \
    [[nodiscard]] std::string_view python_type() const noexcept override { return py_name; } \
    [[nodiscard]] std::vector<std::string_view> python_bases() const override {              \
      auto bases = Parent::python_bases();                                                   \
      bases.insert(bases.begin(), Parent::python_type());                                    \
      return bases;                                                                          \
    }                                                                                        \
  }

MPC_DEFINE_ERROR(ValueError, Error, "ValueError");
MPC_DEFINE_ERROR(TypeError, Error, "TypeError");
MPC_DEFINE_ERROR(EOFError, Error, "EOFError");
MPC_DEFINE_ERROR(AssertionError, Error, "AssertionError");
MPC_DEFINE_ERROR(RuntimeError, Error, "RuntimeError");
MPC_DEFINE_ERROR(RecursionError, RuntimeError, "RecursionError");
MPC_DEFINE_ERROR(BrokenBarrierError, RuntimeError, "threading.BrokenBarrierError");
MPC_DEFINE_ERROR(LookupError, Error, "LookupError");
MPC_DEFINE_ERROR(IndexError, LookupError, "IndexError");
MPC_DEFINE_ERROR(AttributeError, Error, "AttributeError");
MPC_DEFINE_ERROR(NotImplementedError, RuntimeError, "NotImplementedError");
// What CPython raises for a length no buffer can hold (MemoryError) or that does not even fit
// a Py_ssize_t (OverflowError), e.g. a message header declaring 2^40 or 2^64-1 bytes.
MPC_DEFINE_ERROR(MemoryError, Error, "MemoryError");
MPC_DEFINE_ERROR(ArithmeticError, Error, "ArithmeticError");
MPC_DEFINE_ERROR(OverflowError, ArithmeticError, "OverflowError");

// Python's `OSError`; carries an errno value (0 when there is none).
class OSError : public Error {
 public:
  explicit OSError(const std::string& message, int error_number = 0) : Error(message), errno_(error_number) {}
  [[nodiscard]] std::string_view python_type() const noexcept override { return "OSError"; }
  [[nodiscard]] std::vector<std::string_view> python_bases() const override { return {"Exception"}; }
  [[nodiscard]] int error_number() const noexcept { return errno_; }

 private:
  int errno_;
};

MPC_DEFINE_ERROR(ConnectionError, OSError, "ConnectionError");
MPC_DEFINE_ERROR(BrokenPipeError, ConnectionError, "BrokenPipeError");
MPC_DEFINE_ERROR(ConnectionResetError, ConnectionError, "ConnectionResetError");
MPC_DEFINE_ERROR(TimeoutError, OSError, "TimeoutError");

MPC_DEFINE_ERROR(QueueEmpty, Error, "queue.Empty");
MPC_DEFINE_ERROR(QueueFull, Error, "queue.Full");

MPC_DEFINE_ERROR(ProcessError, Error, "multiprocessing.ProcessError");
// Connection.recv_bytes_into() got a message longer than the buffer. Like Python's
// (e.args == (whole_message,)) it carries the whole message, which was consumed: message()
// holds every byte (what() stops at the first NUL, as C strings do).
class BufferTooShort : public ProcessError {
 public:
  explicit BufferTooShort(std::string message) : ProcessError(message), message_(std::move(message)) {}
  [[nodiscard]] std::string_view python_type() const noexcept override { return "multiprocessing.BufferTooShort"; }
  [[nodiscard]] std::vector<std::string_view> python_bases() const override {
    auto bases = ProcessError::python_bases();
    bases.insert(bases.begin(), ProcessError::python_type());
    return bases;
  }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};
MPC_DEFINE_ERROR(AuthenticationError, ProcessError, "multiprocessing.AuthenticationError");
MPC_DEFINE_ERROR(MultiprocessingTimeoutError, ProcessError, "multiprocessing.TimeoutError");

// pickle.PickleError and its two subclasses.
MPC_DEFINE_ERROR(PickleError, Error, "pickle.PickleError");
MPC_DEFINE_ERROR(PicklingError, PickleError, "pickle.PicklingError");
MPC_DEFINE_ERROR(UnpicklingError, PickleError, "pickle.UnpicklingError");

#undef MPC_DEFINE_ERROR

}  // namespace mpc
