// Family "queues": Queue, JoinableQueue, SimpleQueue.
#include "families/queues.hpp"

#include <memory>
#include <mutex>

#include "families/support.hpp"
#include "mpc/errors.hpp"
#include "mpc/queue.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

class QueueObject final : public Object {
 public:
  QueueObject(bool joinable, std::int64_t maxsize, mpc::Context context = mpc::Context(mpc::StartMethod::fork))
      : joinable_(joinable),
        queue_(joinable ? std::make_unique<mpc::JoinableQueue>(context, maxsize)
                        : std::make_unique<mpc::Queue>(context, maxsize)) {}
  // A queue a spawning parent shared.
  QueueObject(bool joinable, std::unique_ptr<mpc::Queue> queue) : joinable_(joinable), queue_(std::move(queue)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return joinable_ ? "JoinableQueue" : "Queue"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  void release() noexcept override {
    try {
      queue_->cancel_join_thread();
    } catch (...) {
      // Nothing left to do for an object that is being abandoned.
    }
  }

  [[nodiscard]] mpc::Queue& queue() noexcept { return *queue_; }
  [[nodiscard]] mpc::JoinableQueue& joinable() noexcept { return static_cast<mpc::JoinableQueue&>(*queue_); }
  [[nodiscard]] bool is_joinable() const noexcept { return joinable_; }
  [[nodiscard]] bool share(mpc::SpawnArgs& out) const override {
    if (joinable_)
      out.add(static_cast<const mpc::JoinableQueue&>(*queue_));
    else
      out.add(*queue_);
    return true;
  }

 private:
  bool joinable_;
  std::unique_ptr<mpc::Queue> queue_;
};

const OpTable<QueueObject>& queue_ops() {
  static const OpTable<QueueObject> ops = {
      {"put",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.put", args, {{"obj", true}, {"block"}, {"timeout"}});
         return [&q = self.queue(), obj = value_arg(*b[0]), block = flag_arg(b[1], true),
                 timeout = timeout_arg(b[2], std::nullopt)] {
           q.put(obj, block, timeout);
           return none();
         };
       }},
      {"get",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.get", args, {{"block"}, {"timeout"}});
         return [&q = self.queue(), block = flag_arg(b[0], true), timeout = timeout_arg(b[1], std::nullopt)] {
           return q.get(block, timeout);
         };
       }},
      {"put_nowait",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.put_nowait", args, {{"obj", true}});
         return [&q = self.queue(), obj = value_arg(*b[0])] {
           q.put_nowait(obj);
           return none();
         };
       }},
      {"get_nowait",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.get_nowait", args);
         return [&q = self.queue()] { return q.get_nowait(); };
       }},
      {"qsize",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.qsize", args);
         return [&q = self.queue()] { return Value::integer(q.qsize()); };
       }},
      {"empty",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.empty", args);
         return [&q = self.queue()] { return Value::boolean(q.empty()); };
       }},
      {"full",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.full", args);
         return [&q = self.queue()] { return Value::boolean(q.full()); };
       }},
      {"close",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.close", args);
         return [&q = self.queue()] {
           q.close();
           return none();
         };
       }},
      {"join_thread",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.join_thread", args);
         return [&q = self.queue()] {
           q.join_thread();
           return none();
         };
       }},
      {"cancel_join_thread",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.cancel_join_thread", args);
         return [&q = self.queue()] {
           q.cancel_join_thread();
           return none();
         };
       }},
      {"put_many",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.put_many", args, {{"items", true}});
         return [&q = self.queue(), items = items_arg(*b[0])] {
           for (const auto& item : items) q.put(item);
           return none();
         };
       }},
      {"get_many",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.get_many", args, {{"count", true}, {"block"}, {"timeout"}});
         return [&q = self.queue(), count = count_arg(*b[0]), block = flag_arg(b[1], true),
                 timeout = timeout_arg(b[2], std::nullopt)] {
           Value got = Value::list();
           for (std::size_t i = 0; i < count; ++i) got.append(q.get(block, timeout));
           return got;
         };
       }},
  };
  return ops;
}

const OpTable<QueueObject>& joinable_queue_ops() {
  static const OpTable<QueueObject> ops = [] {
    OpTable<QueueObject> all = queue_ops();
    all.emplace("task_done", [](QueueObject& self, const Args& args) -> Invocation {
      no_arguments("JoinableQueue.task_done", args);
      return [&q = self.joinable()] {
        q.task_done();
        return none();
      };
    });
    all.emplace("join", [](QueueObject& self, const Args& args) -> Invocation {
      no_arguments("JoinableQueue.join", args);
      return [&q = self.joinable()] {
        q.join();
        return none();
      };
    });
    return all;
  }();
  return ops;
}

Invocation QueueObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, joinable_ ? joinable_queue_ops() : queue_ops(), method, args);
}

// ---- SimpleQueue

class SimpleQueueObject final : public Object {
 public:
  explicit SimpleQueueObject(mpc::Context context = mpc::Context(mpc::StartMethod::fork)) : queue_(context) {}
  explicit SimpleQueueObject(mpc::SimpleQueue queue) : queue_(std::move(queue)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "SimpleQueue"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::SimpleQueue& queue() noexcept { return queue_; }
  [[nodiscard]] bool share(mpc::SpawnArgs& out) const override {
    out.add(queue_);
    return true;
  }

 private:
  mpc::SimpleQueue queue_;
};

const OpTable<SimpleQueueObject>& simple_queue_ops() {
  static const OpTable<SimpleQueueObject> ops = {
      {"put",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         auto b = bind("SimpleQueue.put", args, {{"obj", true}});
         return [&q = self.queue(), obj = value_arg(*b[0])] {
           q.put(obj);
           return none();
         };
       }},
      {"get",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         no_arguments("SimpleQueue.get", args);
         return [&q = self.queue()] { return q.get(); };
       }},
      {"empty",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         no_arguments("SimpleQueue.empty", args);
         return [&q = self.queue()] { return Value::boolean(q.empty()); };
       }},
      {"close",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         no_arguments("SimpleQueue.close", args);
         return [&q = self.queue()] {
           q.close();
           return none();
         };
       }},
      {"put_many",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         auto b = bind("SimpleQueue.put_many", args, {{"items", true}});
         return [&q = self.queue(), items = items_arg(*b[0])] {
           for (const auto& item : items) q.put(item);
           return none();
         };
       }},
      {"get_many",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         // SimpleQueue.get() takes no arguments, so neither does the loop.
         auto b = bind("SimpleQueue.get_many", args, {{"count", true}});
         return [&q = self.queue(), count = count_arg(*b[0])] {
           Value got = Value::list();
           for (std::size_t i = 0; i < count; ++i) got.append(q.get());
           return got;
         };
       }},
  };
  return ops;
}

Invocation SimpleQueueObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, simple_queue_ops(), method, args);
}

// maxsize as Python takes it: an int or bool; a float is Python's TypeError (3.10+ text).
std::int64_t maxsize_arg(const Arg* arg) {
  if (!arg) return 0;
  if (is_plain(*arg) && arg->value.is(Kind::Float))
    throw mpc::TypeError("'float' object cannot be interpreted as an integer");
  return int_arg(*arg, "maxsize");
}

std::optional<Created> create_in(mpc::Context context, const std::string& type, const std::vector<std::string>& names,
                                 const Args& args) {
  if (type == "Queue" || type == "JoinableQueue") {
    auto b = bind(type, args, {{"maxsize"}});
    std::int64_t maxsize = maxsize_arg(b[0]);
    return Created{{names.at(0), std::make_shared<QueueObject>(type == "JoinableQueue", maxsize, context)}};
  }
  if (type == "SimpleQueue") {
    no_arguments(type, args);
    return Created{{names.at(0), std::make_shared<SimpleQueueObject>(context)}};
  }
  return std::nullopt;
}

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  return create_in(mpc::Context(mpc::StartMethod::fork), type, names, args);
}

std::shared_ptr<Object> receive(const std::string& type, const mpc::SpawnArgs& args, std::size_t index) {
  if (type == "Queue") return std::make_shared<QueueObject>(false, std::make_unique<mpc::Queue>(args.queue(index)));
  if (type == "JoinableQueue")
    return std::make_shared<QueueObject>(true, std::make_unique<mpc::JoinableQueue>(args.joinable_queue(index)));
  if (type == "SimpleQueue") return std::make_shared<SimpleQueueObject>(args.simple_queue(index));
  return nullptr;
}

void list(std::vector<std::string>& out) {
  list_ops(out, "Queue", queue_ops());
  list_ops(out, "JoinableQueue", joinable_queue_ops());
  list_ops(out, "SimpleQueue", simple_queue_ops());
}

}  // namespace

Invocation queue_constructor(const Args& args) {
  auto b = bind("Queue", args, {{"maxsize"}});
  std::optional<Arg> maxsize = b[0] ? std::optional<Arg>(*b[0]) : std::nullopt;
  return [maxsize = std::move(maxsize)] {
    return Outcome::of(std::make_shared<QueueObject>(false, maxsize_arg(maxsize ? &*maxsize : nullptr)));
  };
}

const Family& queues_family() {
  static const Family family{{"Queue", "JoinableQueue", "SimpleQueue"}, create, list, create_in, receive};
  return family;
}

}  // namespace mpconform::cpp_adapter
