#include "mpc/queue.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "channel.hpp"
#include "mpc/errors.hpp"
#include "mpc/pickle.hpp"

namespace mpc {

namespace detail {

// An item waiting for the feeder: its pickle, or for a large bytes object the pickle's head and
// tail around the payload, which stays in the (immutable) value it came from rather than being
// copied once more here.
struct PendingItem {
  std::string pickle;  // the whole pickle, or the head
  Value keep;          // holds `payload` alive
  std::string_view payload;
  std::string_view tail;
  [[nodiscard]] Gather gather() const { return {pickle, payload, tail}; }
  [[nodiscard]] std::size_t size() const { return pickle.size() + payload.size() + tail.size(); }
};

// The process-local half of a Queue: the feeder thread and the items it still has to write.
// Heap-allocated so that the feeder can keep a stable pointer while the Queue object moves.
struct QueueLocal {
  QueueLocal(std::int64_t maxsize, std::size_t ring_bytes, bool joinable_, StartMethod method)
      : chan(ring_bytes, maxsize, method), joinable(joinable_) {}
  QueueLocal(std::shared_ptr<void> mem, bool joinable_) : chan(std::move(mem)), joinable(joinable_) {}

  Channel chan;
  const bool joinable;

  std::mutex m;  // guards backlog, feeder, stop, join_cancelled
  std::condition_variable cv;
  std::deque<PendingItem> backlog;
  std::unique_ptr<std::thread> feeder;
  bool stop = false;                     // feeder: exit once the backlog is written
  bool feeder_idle = false;              // the feeder sleeps on cv (so put() must notify it)
  bool join_cancelled = false;           // cancel_join_thread()
  std::atomic<std::int64_t> pending{0};  // backlog + the item the feeder is writing
  std::size_t backlog_bytes = 0;         // bytes in backlog + in flight (guarded by m)
  std::uint64_t fed_batches = 0;         // feeder progress counter (guarded by m)
  bool stalled = false;                  // the feeder made no progress for a while (guarded by m)
  std::atomic<bool> abort{false};        // feeder: give up now, discard the rest
  std::atomic<bool> closed{false};       // close()
  // close() in a process that has put: its get()s blocked in other threads raise
  // OSError("handle is closed"), as CPython's, whose feeder closes the pipe then.
  std::atomic<bool> reader_closed{false};
  std::atomic<bool> used{false};  // this process has put something

  // The feeder: moves items that did not fit when put() into the ring, in order, a batch per
  // lock acquisition (a producer that outruns its consumers lives on this path).
  void feed() {
    std::vector<PendingItem> batch;
    std::vector<Gather> pieces;
    for (;;) {
      batch.clear();
      pieces.clear();
      {
        std::unique_lock lk(m);
        feeder_idle = true;
        cv.wait(lk, [&] { return !backlog.empty() || stop || abort.load(); });
        feeder_idle = false;
        if (abort.load() || backlog.empty()) break;
        std::size_t bytes = 0;
        while (!backlog.empty() && batch.size() < 1024 && bytes < (std::size_t{1} << 20)) {
          bytes += backlog.front().size();
          batch.push_back(std::move(backlog.front()));
          backlog.pop_front();
        }
      }
      for (const auto& item : batch) pieces.push_back(item.gather());
      const std::size_t written = chan.write_many(pieces, false, &abort);
      const auto lost = static_cast<std::int64_t>(batch.size() - written);
      if (lost > 0) chan.uncount(lost, joinable ? lost : 0);
      {
        std::lock_guard lk(m);
        for (const auto& item : batch) backlog_bytes -= item.size();
        ++fed_batches;
        stalled = false;
        pending.fetch_sub(static_cast<std::int64_t>(batch.size()), std::memory_order_release);
      }
      cv.notify_all();  // join_thread() and throttled put()s wait on it
      if (lost > 0) break;
    }
    // Whatever is left was given up (cancel_join_thread, or abort at destruction).
    std::lock_guard lk(m);
    if (!backlog.empty()) {
      auto n = static_cast<std::int64_t>(backlog.size());
      chan.uncount(n, joinable ? n : 0);
      pending.fetch_sub(n, std::memory_order_release);
      backlog.clear();
    }
    backlog_bytes = 0;
    cv.notify_all();
  }

  // put() with items already waiting for the feeder. Keeps CPython's "put never blocks on
  // bytes" while consumers are gone or stalled (the backlog then grows in this process's
  // memory, as CPython's buffer does), but when the consumers are merely slower than this
  // producer, a backlog over half a ring makes put() wait for the feeder to drain it, in
  // steps of kThrottleSlice that each must see progress: memory stays bounded and the
  // producer returns to writing straight into the ring, which costs far less per item.
  static constexpr auto kThrottleSlice = std::chrono::milliseconds(10);
  void enqueue_behind(PendingItem item) {
    std::unique_lock lk(m);
    backlog_bytes += item.size();
    backlog.push_back(std::move(item));
    pending.fetch_add(1, std::memory_order_release);
    if (!feeder) {
      stop = false;
      feeder = std::make_unique<std::thread>([this] { feed(); });
    }
    if (feeder_idle) cv.notify_one();
    if (stalled || backlog_bytes <= chan.ring_bytes() / 2) return;
    while (pending.load() > 0 && !closed.load() && !abort.load()) {
      const std::uint64_t seen = fed_batches;
      const bool moved = cv.wait_for(lk, kThrottleSlice, [&] {
        return pending.load() == 0 || fed_batches != seen || closed.load() || abort.load();
      });
      if (!moved) {
        stalled = true;  // nobody is draining: stop throttling until the feeder moves again
        return;
      }
    }
  }

  // Stops the feeder (flushing unless the join was cancelled) and waits for it.
  void finish_feeder() {
    std::unique_ptr<std::thread> t;
    {
      std::lock_guard lk(m);
      stop = true;
      if (join_cancelled) abort.store(true);
      t = std::move(feeder);
    }
    cv.notify_all();
    if (abort.load()) chan.wake_all();  // the feeder may sleep waiting for ring space
    if (t && t->joinable()) t->join();
  }

  // In a child just after fork(): only the forking thread exists there. The feeder thread and
  // anything it held belong to the parent; start over like CPython's Queue._after_fork().
  void reset_after_fork() {
    new (&m) std::mutex();
    new (&cv) std::condition_variable();
    std::deque<PendingItem>().swap(backlog);
    (void)feeder.release();  // the std::thread object names a thread of the parent: leak it
    stop = false;
    feeder_idle = false;
    join_cancelled = false;
    backlog_bytes = 0;
    fed_batches = 0;
    stalled = false;
    pending.store(0);
    abort.store(false);
    closed.store(false);
    reader_closed.store(false);
    used.store(false);
  }
};

struct SimpleQueueLocal {
  SimpleQueueLocal(std::size_t ring_bytes, StartMethod method) : chan(ring_bytes, 0, method) {}
  explicit SimpleQueueLocal(std::shared_ptr<void> mem) : chan(std::move(mem)) {}
  Channel chan;
  std::atomic<bool> closed{false};
};

namespace {

// Every live QueueLocal of this process, for fork handling and the exit-time flush.
struct Registry {
  std::mutex m;
  std::vector<QueueLocal*> queues;
};

Registry& registry() {
  static auto* r = new Registry;  // never destroyed: used by atexit and atfork handlers
  return *r;
}

void atfork_prepare() {
  // Hold every local mutex across fork() so that the child's copies are not caught half-way
  // through a feeder's update.
  Registry& r = registry();
  r.m.lock();
  for (QueueLocal* q : r.queues) q->m.lock();
}

void atfork_parent() {
  Registry& r = registry();
  for (QueueLocal* q : r.queues) q->m.unlock();
  r.m.unlock();
}

void atfork_child() {
  Registry& r = registry();
  for (QueueLocal* q : r.queues) q->reset_after_fork();
  new (&r.m) std::mutex();
}

void at_exit_flush() { flush_queues_before_exit(); }

void register_queue(QueueLocal* q) {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    std::atexit(at_exit_flush);
  });
  Registry& r = registry();
  std::lock_guard lk(r.m);
  r.queues.push_back(q);
}

void unregister_queue(QueueLocal* q) {
  Registry& r = registry();
  std::lock_guard lk(r.m);
  std::erase(r.queues, q);
}

std::string address_of(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

void flush_queues_before_exit() noexcept {
  std::vector<QueueLocal*> queues;
  {
    std::lock_guard lk(registry().m);
    queues = registry().queues;
  }
  for (QueueLocal* q : queues) {
    try {
      q->finish_feeder();
    } catch (...) {
    }
  }
}

}  // namespace detail

// ---- Queue ------------------------------------------------------------------------------------

Queue::Queue(std::int64_t maxsize, std::size_t ring_bytes)
    : Queue(Context(StartMethod::fork), maxsize, ring_bytes, false) {}

Queue::Queue(Context context, std::int64_t maxsize, std::size_t ring_bytes)
    : Queue(context, maxsize, ring_bytes, false) {}

Queue::Queue(Context context, std::int64_t maxsize, std::size_t ring_bytes, bool joinable)
    : local_(std::make_unique<detail::QueueLocal>(maxsize, ring_bytes, joinable, context.start_method())) {
  detail::register_queue(local_.get());
}

Queue::Queue(std::shared_ptr<void> mem, bool joinable)
    : local_(std::make_unique<detail::QueueLocal>(std::move(mem), joinable)) {
  detail::register_queue(local_.get());
}

Queue::Queue(Queue&&) noexcept = default;

Queue& Queue::operator=(Queue&& other) noexcept {
  if (this != &other) {
    Queue old(std::move(*this));  // flushed and unmapped by its destructor
    local_ = std::move(other.local_);
  }
  return *this;
}

Queue::~Queue() {
  if (!local_) return;
  local_->finish_feeder();
  detail::unregister_queue(local_.get());
}

std::string Queue::describe() const {
  const char* type = local_ && local_->joinable ? "JoinableQueue" : "Queue";
  return std::string("<mpc::") + type + " object at " + detail::address_of(this) + ">";
}

const std::shared_ptr<void>& Queue::mapping() const noexcept { return local_->chan.mapping(); }

bool Queue::closed() const noexcept { return !local_ || local_->closed.load(); }

namespace {

// A thread's buffer that it keeps from call to call, so that a put (its pickle) or a get (the
// bytes it receives) does not allocate, and for a large item page in, a fresh one each time: giving
// back a 1 MiB buffer after each 1 MiB item made every call do so. One grown past kKeptBytes by a
// huge item is given back afterwards.
constexpr std::size_t kKeptBytes = std::size_t{16} << 20;

class KeptBuffer {
 public:
  std::string& get() { return buf_; }
  void trim() {
    if (buf_.capacity() > kKeptBytes) std::string().swap(buf_);
  }

 private:
  std::string buf_;
};

struct TrimAfter {
  KeptBuffer& b;
  ~TrimAfter() { b.trim(); }
};

thread_local KeptBuffer pickle_buffer;  // what put() pickles into

// What put() writes for obj: a large bytes object as the pieces of its pickle around the payload
// it holds (`pieces`), so that the payload is copied once, from the value straight into the ring
// (or, by the feeder, from the value it keeps); any other value pickled whole into `buffer`.
detail::Gather pickled(const Value& obj, std::optional<pickle::BytesPieces>& pieces, std::string& buffer) {
  pieces = pickle::split_large_bytes(obj, pickle::kDefaultProtocol);
  if (pieces) return {pieces->head, pieces->payload, pieces->tail};
  pickle::dumps_into(buffer, obj, pickle::kDefaultProtocol);
  return {buffer};
}

}  // namespace

void Queue::put(const Value& obj, bool block, Timeout timeout) {
  if (closed()) throw ValueError("Queue " + describe() + " is closed");
  std::optional<pickle::BytesPieces> pieces;
  std::string& item = pickle_buffer.get();
  TrimAfter trim{pickle_buffer};
  const detail::Gather gather = pickled(obj, pieces, item);
  detail::QueueLocal& q = *local_;
  const Deadline deadline = block ? Deadline::after(timeout) : Deadline::now();
  // Straight into the ring unless earlier items of this process are still with the feeder
  // (they must go first: FIFO per producer).
  const bool direct = q.pending.load(std::memory_order_acquire) == 0;
  auto outcome = q.chan.put(gather, deadline, direct, q.joinable);
  if (outcome == detail::Channel::PutOutcome::full) throw QueueFull("");
  if (!q.used.load(std::memory_order_relaxed)) q.used.store(true, std::memory_order_relaxed);
  if (outcome == detail::Channel::PutOutcome::written) return;
  if (pieces) {
    q.enqueue_behind({std::move(pieces->head), obj, pieces->payload, pieces->tail});
  } else {
    q.enqueue_behind({std::string(item), {}, {}, {}});  // a copy: the buffer stays this thread's
  }
}

bool Queue::try_put(const Value& obj, Timeout timeout) {
  try {
    put(obj, true, timeout);
    return true;
  } catch (const QueueFull&) {
    return false;
  }
}

namespace {

// Receives into a kept per-thread buffer and unpickles outside the lock, like CPython.
// A get interrupted by close() in another thread raises what CPython raises there: EOFError for
// a SimpleQueue (both ends closed), OSError("handle is closed") for a Queue.
enum class OnClose { eof, handle_closed };

// Where a get() puts an item: the kept buffer, or for a large bytes pickle (recognised from its
// first bytes) the payload straight into the string that becomes the bytes value returned, so
// that it is copied once out of the ring and not again by loads().
class ReceiveSink final : public detail::ItemSink {
 public:
  explicit ReceiveSink(std::string& buf) : buf_(buf) {}

  detail::Scatter place(std::uint64_t total, std::string_view first) override {
    layout_ = pickle::large_bytes_layout(first, total);
    if (!layout_) {
      buf_.resize(total);
      return {{std::span<char>(buf_.data(), buf_.size()), {}, {}}};
    }
    head_.resize(layout_->payload_offset);
    payload_ = std::string(layout_->payload_size, '\0');  // fresh: it is handed to the caller
    tail_.resize(total - layout_->payload_offset - layout_->payload_size);
    return {{std::span<char>(head_.data(), head_.size()), std::span<char>(payload_.data(), payload_.size()),
             std::span<char>(tail_.data(), tail_.size())}};
  }

  Value value() {
    if (!layout_) return pickle::loads(buf_);
    if (tail_ == pickle::kLargeBytesTail) return Value::bytes(std::move(payload_));
    // Began like a lone bytes pickle but ends otherwise: let the codec judge the whole.
    return pickle::loads(head_ + payload_ + tail_);
  }

 private:
  std::string& buf_;
  std::optional<pickle::BytesLayout> layout_;
  std::string head_, payload_, tail_;
};

std::optional<Value> receive(detail::Channel& chan, const Deadline& deadline, const std::atomic<bool>* interrupt,
                             OnClose on_close) {
  thread_local KeptBuffer buffer;
  ReceiveSink sink(buffer.get());
  switch (chan.get(sink, deadline, interrupt)) {
    case detail::Channel::GetStatus::ok: break;
    case detail::Channel::GetStatus::timeout: return std::nullopt;
    case detail::Channel::GetStatus::interrupted:
      if (on_close == OnClose::handle_closed) throw OSError("handle is closed");
      throw EOFError("");
  }
  TrimAfter trim{buffer};
  return sink.value();
}

}  // namespace

Value Queue::get(bool block, Timeout timeout) {
  if (closed()) throw ValueError("Queue " + describe() + " is closed");
  const Deadline deadline = block ? Deadline::after(timeout) : Deadline::now();
  auto v = receive(local_->chan, deadline, &local_->reader_closed, OnClose::handle_closed);
  if (!v) throw QueueEmpty("");
  return std::move(*v);
}

std::optional<Value> Queue::try_get(Timeout timeout) {
  if (closed()) throw ValueError("Queue " + describe() + " is closed");
  return receive(local_->chan, Deadline::after(timeout), &local_->reader_closed, OnClose::handle_closed);
}

std::int64_t Queue::qsize() const { return local_->chan.qsize(); }

bool Queue::empty() const {
  if (closed() && local_->used.load()) throw OSError("handle is closed");
  return local_->chan.empty();
}

bool Queue::full() const { return local_->chan.full(); }

std::int64_t Queue::maxsize() const { return local_->chan.maxsize(); }

void Queue::close() {
  detail::QueueLocal& q = *local_;
  if (q.closed.exchange(true)) return;
  if (q.used.load()) {  // else, like CPython without a feeder, blocked get()s run their course
    q.reader_closed = true;
    q.chan.wake_all();
  }
  {
    std::lock_guard lk(q.m);
    q.stop = true;
  }
  q.cv.notify_all();
}

void Queue::join_thread() {
  if (!closed()) throw AssertionError("Queue " + describe() + " not closed");
  local_->finish_feeder();
}

void Queue::cancel_join_thread() {
  std::lock_guard lk(local_->m);
  local_->join_cancelled = true;
}

// ---- JoinableQueue ----------------------------------------------------------------------------

JoinableQueue::JoinableQueue(std::int64_t maxsize, std::size_t ring_bytes)
    : Queue(Context(StartMethod::fork), maxsize, ring_bytes, true) {}

JoinableQueue::JoinableQueue(Context context, std::int64_t maxsize, std::size_t ring_bytes)
    : Queue(context, maxsize, ring_bytes, true) {}

void JoinableQueue::task_done() {
  if (!local_->chan.task_done()) throw ValueError("task_done() called too many times");
}

void JoinableQueue::join() { local_->chan.join_tasks(Deadline::never()); }

bool JoinableQueue::try_join(Timeout timeout) { return local_->chan.join_tasks(Deadline::after(timeout)); }

// ---- SimpleQueue ------------------------------------------------------------------------------

SimpleQueue::SimpleQueue(std::size_t ring_bytes) : SimpleQueue(Context(StartMethod::fork), ring_bytes) {}

SimpleQueue::SimpleQueue(Context context, std::size_t ring_bytes)
    : local_(std::make_unique<detail::SimpleQueueLocal>(ring_bytes, context.start_method())) {}

SimpleQueue::SimpleQueue(std::shared_ptr<void> mem)
    : local_(std::make_unique<detail::SimpleQueueLocal>(std::move(mem))) {}
SimpleQueue::SimpleQueue(SimpleQueue&&) noexcept = default;
SimpleQueue& SimpleQueue::operator=(SimpleQueue&&) noexcept = default;
SimpleQueue::~SimpleQueue() = default;

const std::shared_ptr<void>& SimpleQueue::mapping() const noexcept { return local_->chan.mapping(); }

bool SimpleQueue::closed() const noexcept { return !local_ || local_->closed.load(); }

void SimpleQueue::put(const Value& obj) {
  if (closed()) throw OSError("handle is closed");
  std::optional<pickle::BytesPieces> pieces;  // pickled before any waiting
  std::string& item = pickle_buffer.get();
  TrimAfter trim{pickle_buffer};
  const detail::Gather gather = pickled(obj, pieces, item);
  if (!local_->chan.write(gather, true, &local_->closed)) throw OSError("handle is closed");
}

Value SimpleQueue::get() {
  if (closed()) throw OSError("handle is closed");
  return *receive(local_->chan, Deadline::never(), &local_->closed, OnClose::eof);
}

std::optional<Value> SimpleQueue::try_get(Timeout timeout) {
  if (closed()) throw OSError("handle is closed");
  return receive(local_->chan, Deadline::after(timeout), &local_->closed, OnClose::eof);
}

bool SimpleQueue::empty() const {
  if (closed()) throw OSError("handle is closed");
  return local_->chan.empty();
}

void SimpleQueue::close() {
  if (!local_ || local_->closed.exchange(true)) return;
  local_->chan.wake_all();
}

}  // namespace mpc
