#include "mpc/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "io.hpp"
#include "mpc/errors.hpp"
#include "mpc/fd.hpp"
#include "mpc/pickle.hpp"
#include "mpc/process.hpp"
#include "shared_mapping.hpp"
#include "spawning.hpp"

namespace mpc {

namespace detail {

// The friend of every shareable class: its mapping out, a new handle over a mapping back.
struct SpawnAccess {
  template <class T>
  static const std::shared_ptr<void>& mem(const T& object) {
    return object.mem_;
  }
  static const std::shared_ptr<void>& mem(const Queue& q) { return q.mapping(); }
  static const std::shared_ptr<void>& mem(const SimpleQueue& q) { return q.mapping(); }
  template <class T>
  static T make(std::shared_ptr<void> mem) {
    return T(std::move(mem));
  }
  static Queue make_queue(std::shared_ptr<void> mem) { return Queue(std::move(mem), false); }
  static const SpawnArgs::Item& item(const SpawnArgs& args, std::size_t index, SpawnArgs::Type wanted) {
    return args.at(index, wanted);
  }
  static std::vector<SpawnArgs::Item>& items(const SpawnArgs& args) { return *args.items_; }
};

}  // namespace detail

namespace {

using detail::SpawnAccess;
using Type = SpawnArgs::Type;

// CPython's argv marker of a spawned child, and the tag of each argument in the pickle.
constexpr std::string_view kMarker = "--multiprocessing-fork";
constexpr std::string_view kPipeArg = "pipe_handle=";
constexpr std::string_view kForkserverMarker = "--multiprocessing-forkserver";
constexpr std::string_view kSocketArg = "socket=";

struct TypeName {
  Type type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {Type::value, "value"},
    {Type::queue, "Queue"},
    {Type::joinable_queue, "JoinableQueue"},
    {Type::simple_queue, "SimpleQueue"},
    {Type::lock, "Lock"},
    {Type::rlock, "RLock"},
    {Type::semaphore, "Semaphore"},
    {Type::bounded_semaphore, "BoundedSemaphore"},
};

const char* name_of(Type type) {
  for (const auto& t : kTypeNames)
    if (t.type == type) return t.name;
  return "?";
}

std::optional<Type> type_named(std::string_view name) {
  for (const auto& t : kTypeNames)
    if (name == t.name) return t.type;
  return std::nullopt;
}

// ---- the registry of targets ------------------------------------------------------------------

struct Targets {
  std::mutex m;
  std::map<std::string, TargetFunction, std::less<>> functions;
};

Targets& targets() {
  static auto* t = new Targets;  // never destroyed: a child may look one up at any time
  return *t;
}

}  // namespace

void detail::register_target_function(std::string name, TargetFunction function) {
  if (name.empty()) throw ValueError("a target needs a name");
  Targets& t = targets();
  std::lock_guard lk(t.m);
  t.functions[std::move(name)] = std::move(function);
}

bool target_registered(std::string_view name) {
  Targets& t = targets();
  std::lock_guard lk(t.m);
  return t.functions.find(name) != t.functions.end();
}

TargetFunction detail::find_target(std::string_view name) {
  Targets& t = targets();
  std::lock_guard lk(t.m);
  auto it = t.functions.find(name);
  if (it == t.functions.end())
    throw ValueError("no target named '" + std::string(name) + "' is registered (mpc::register_target)");
  return it->second;
}

// ---- SpawnArgs ----------------------------------------------------------------------------------

SpawnArgs& SpawnArgs::add(Value value) {
  items_->push_back({Type::value, std::move(value), nullptr});
  return *this;
}
SpawnArgs& SpawnArgs::add(const Queue& queue) {
  items_->push_back({Type::queue, {}, SpawnAccess::mem(queue)});
  return *this;
}
SpawnArgs& SpawnArgs::add(const JoinableQueue& queue) {
  items_->push_back({Type::joinable_queue, {}, SpawnAccess::mem(static_cast<const Queue&>(queue))});
  return *this;
}
SpawnArgs& SpawnArgs::add(const SimpleQueue& queue) {
  items_->push_back({Type::simple_queue, {}, SpawnAccess::mem(queue)});
  return *this;
}
SpawnArgs& SpawnArgs::add(const Lock& lock) {
  items_->push_back({Type::lock, {}, SpawnAccess::mem(lock)});
  return *this;
}
SpawnArgs& SpawnArgs::add(const RLock& lock) {
  items_->push_back({Type::rlock, {}, SpawnAccess::mem(lock)});
  return *this;
}
SpawnArgs& SpawnArgs::add(const Semaphore& semaphore) {
  items_->push_back({Type::semaphore, {}, SpawnAccess::mem(semaphore)});
  return *this;
}
SpawnArgs& SpawnArgs::add(const BoundedSemaphore& semaphore) {
  items_->push_back({Type::bounded_semaphore, {}, SpawnAccess::mem(static_cast<const Semaphore&>(semaphore))});
  return *this;
}

SpawnArgs::Type SpawnArgs::type(std::size_t index) const {
  if (index >= items_->size()) throw IndexError("SpawnArgs index out of range");
  return (*items_)[index].type;
}

const SpawnArgs::Item& SpawnArgs::at(std::size_t index, Type wanted) const {
  const Type actual = type(index);
  // A JoinableQueue is a Queue, as in Python.
  if (actual != wanted && !(wanted == Type::queue && actual == Type::joinable_queue))
    throw TypeError("argument " + std::to_string(index) + " is a " + name_of(actual) + ", not a " + name_of(wanted));
  return (*items_)[index];
}

Value SpawnArgs::value(std::size_t index) const { return at(index, Type::value).value; }
Queue SpawnArgs::queue(std::size_t index) const { return SpawnAccess::make_queue(at(index, Type::queue).mem); }
JoinableQueue SpawnArgs::joinable_queue(std::size_t index) const {
  return SpawnAccess::make<JoinableQueue>(at(index, Type::joinable_queue).mem);
}
SimpleQueue SpawnArgs::simple_queue(std::size_t index) const {
  return SpawnAccess::make<SimpleQueue>(at(index, Type::simple_queue).mem);
}
Lock SpawnArgs::lock(std::size_t index) const { return SpawnAccess::make<Lock>(at(index, Type::lock).mem); }
RLock SpawnArgs::rlock(std::size_t index) const { return SpawnAccess::make<RLock>(at(index, Type::rlock).mem); }
Semaphore SpawnArgs::semaphore(std::size_t index) const {
  const Type actual = type(index);
  // A BoundedSemaphore is a Semaphore, as in Python.
  return SpawnAccess::make<Semaphore>(at(index, actual == Type::bounded_semaphore ? actual : Type::semaphore).mem);
}
BoundedSemaphore SpawnArgs::bounded_semaphore(std::size_t index) const {
  return SpawnAccess::make<BoundedSemaphore>(at(index, Type::bounded_semaphore).mem);
}

// ---- the parent: preparation data, exec, send -----------------------------------------------

namespace {

constexpr const char* kForkContextRefused =
    "A SemLock created in a fork context is being shared with a process in a spawn context. This is not supported. "
    "Please use the same context to create multiprocessing objects and Process.";

Value str(std::string_view s) { return Value::str(std::string(s)); }

// The arguments as the child will read them: (type, pickled value) or (type, descriptor) pairs,
// and the descriptors to pass. RuntimeError for a fork-context object (CPython's SemLock.__getstate__).
Value pickle_args(const SpawnArgs& args, std::vector<int>& fds) {
  Value list = Value::list();
  for (const auto& item : SpawnAccess::items(args)) {
    if (item.type == Type::value) {
      // Pickled apart, so that the child loads it once it holds the authkey: a Connection's pickle
      // is fetched from this process's resource sharer, which checks it.
      list.append(Value::tuple({str("value"), Value::bytes(pickle::dumps(item.value))}));
      continue;
    }
    const int fd = detail::shared_fd(item.mem);
    if (fd < 0) throw RuntimeError(kForkContextRefused);
    if (std::find(fds.begin(), fds.end(), fd) == fds.end()) fds.push_back(fd);
    list.append(Value::tuple({str(name_of(item.type)), Value::integer(fd)}));
  }
  return list;
}

}  // namespace

std::string detail::program_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("/proc/self/exe");
}

std::string detail::preparation_data(const SpawnRequest& r, std::vector<int>& fds) {
  Value identity = Value::list();
  for (int i : r.identity) identity.append(Value::integer(i));
  const auto method = get_start_method(true);
  Value args = pickle_args(r.target.args, fds);
  Value numbers = Value::list();
  for (int fd : fds) numbers.append(Value::integer(fd));
  Value data = Value::dict({
      {str("name"), str(r.name)},
      {str("daemon"), Value::boolean(r.daemon)},
      {str("identity"), identity},
      {str("authkey"), Value::bytes(current_process_authkey())},
      {str("parent_pid"), Value::integer(::getpid())},
      {str("parent_name"), str(current_process_name())},
      {str("start_method"), method ? str(*method) : Value::none()},
      {str("death_signal"), Value::boolean(r.death_signal)},
      {str("target"), str(r.target.name)},
      {str("args"), args},
      {str("fds"), numbers},
  });
  return pickle::dumps(data);
}

pid_t detail::spawn_target(const SpawnRequest& r) {
  // Everything that can fail for the caller's reasons happens before the child exists.
  std::vector<int> fds;
  const std::string payload = preparation_data(r, fds);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) raise_errno(errno);
  Fd read_end(pipe_fds[0]);
  Fd write_end(pipe_fds[1]);
  fds.push_back(read_end.get());

  const std::string pipe_arg = std::string(kPipeArg) + std::to_string(read_end.get());
  // /proc/self/exe, not program_path(): the very binary running, even if its file was replaced.
  const pid_t pid = spawn_program("/proc/self/exe", {program_path(), std::string(kMarker), pipe_arg}, fds);
  read_end.reset();
  // A child that dies before reading makes this fail (EPIPE): its exit code tells the story.
  try {
    iovec iov{const_cast<char*>(payload.data()), payload.size()};
    write_all(write_end.get(), &iov, 1, false);
  } catch (const OSError&) {
  }
  return pid;
}

// ---- the child ----------------------------------------------------------------------------------

namespace {

Value field(const Value& dict, std::string_view key) {
  for (std::size_t i = 0; i < dict.size(); ++i)
    if (dict.key(i).is(Kind::Str) && dict.key(i).data() == key) return dict.value(i);
  throw ValueError("the preparation data has no '" + std::string(key) + "'");
}

std::string read_to_end(int fd) {
  std::string data;
  char buf[65536];
  for (;;) {
    const std::size_t n = detail::read_some(fd, buf, sizeof buf);
    if (n == 0) return data;
    data.append(buf, n);
  }
}

// The arguments back: values as they are, objects over the descriptors the parent passed (each
// mapped once, however often it is named, so that they stay the same object). `received` maps
// the parent's numbers to ours when they differ (forkserver); null: the same numbers (spawn).
SpawnArgs unpickle_args(const Value& list, const std::map<int, int>* received) {
  SpawnArgs args;
  std::map<std::int64_t, std::shared_ptr<void>> mapped;
  auto& items = SpawnAccess::items(args);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Value pair = list.at(i);
    const auto type = type_named(pair.at(0).data());
    if (!type) throw ValueError("unknown argument type '" + std::string(pair.at(0).data()) + "'");
    if (*type == Type::value) {
      items.push_back({*type, pickle::loads(pair.at(1).data()), nullptr});
      continue;
    }
    const std::int64_t fd = pair.at(1).to_int64().value_or(-1);
    if (fd < 0 || fd > INT_MAX) throw ValueError("a bad descriptor in the preparation data");
    auto& mem = mapped[fd];
    if (!mem) {
      int ours = static_cast<int>(fd);
      if (received) {
        auto it = received->find(ours);
        if (it == received->end()) throw ValueError("a descriptor the forkserver did not pass");
        ours = it->second;
      }
      mem = detail::attach_shared(Fd(ours), 1);
    }
    items.push_back({*type, {}, mem});
  }
  return args;
}

}  // namespace

int detail::run_prepared(const std::string& payload, const std::vector<int>* received) {
  std::string name = "spawned child";
  try {
    const Value data = pickle::loads(payload);
    name = std::string(field(data, "name").data());
    const bool daemon = field(data, "daemon").as_bool();
    const auto parent = static_cast<pid_t>(field(data, "parent_pid").to_int64().value_or(0));
    if (daemon && field(data, "death_signal").as_bool()) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      // The parent may have died before prctl(): act as if the signal came.
      if (::getppid() != parent) ::raise(SIGTERM);
    }
    std::vector<int> identity;
    const Value ids = field(data, "identity");
    for (std::size_t i = 0; i < ids.size(); ++i) identity.push_back(static_cast<int>(ids.at(i).to_int64().value_or(0)));
    set_current_process_authkey(std::string(field(data, "authkey").data()));
    if (const Value method = field(data, "start_method"); method.is(Kind::Str)) set_start_method(method.data(), true);
    detail::become_child(name, daemon, identity);
    // Every descriptor is taken (and will be closed) before the target can fail to be found.
    std::map<int, int> numbers;  // the parent's -> ours, when they differ
    if (received) {
      const Value sent = field(data, "fds");
      if (sent.size() != received->size()) throw ValueError("the forkserver passed the wrong number of descriptors");
      for (std::size_t i = 0; i < sent.size(); ++i)
        numbers[static_cast<int>(sent.at(i).to_int64().value_or(-1))] = (*received)[i];
    }
    const SpawnArgs args = unpickle_args(field(data, "args"), received ? &numbers : nullptr);
    const std::string target(field(data, "target").data());
    return detail::run_in_child(name, [&] { return detail::find_target(target)(args); });
  } catch (const Error& e) {
    std::fprintf(stderr, "Process %s:\n%s: %s\n", name.c_str(), std::string(e.python_type()).c_str(), e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "Process %s:\n%s\n", name.c_str(), e.what());
  }
  std::fflush(stderr);
  return 1;
}

std::optional<int> spawn_main(int argc, char** argv) {
  if (argc != 3) return std::nullopt;
  const std::string_view marker = argv[1], arg = argv[2];
  if (marker == kForkserverMarker && arg.starts_with(kSocketArg))
    detail::forkserver_main(std::atoi(argv[2] + kSocketArg.size()));  // never returns
  if (marker != kMarker || !arg.starts_with(kPipeArg)) return std::nullopt;
  std::string payload;
  try {
    Fd pipe(std::atoi(argv[2] + kPipeArg.size()));
    payload = read_to_end(pipe.get());
  } catch (const Error& e) {
    std::fprintf(stderr, "spawned child: cannot read its preparation data: %s\n", e.what());
    return 1;
  }
  return detail::run_prepared(payload, nullptr);
}

}  // namespace mpc
