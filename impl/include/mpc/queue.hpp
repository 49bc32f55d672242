// mpc/queue.hpp: multiprocessing.Queue, JoinableQueue and SimpleQueue for C++.
//
// Multi-producer, multi-consumer queues shared by fork()ed processes: create the queue, then
// fork (mpc::Process); parent and children use the same object. Items are Values, stored
// pickled (protocol 4). FIFO per producer; nothing is lost when many processes put at once.
//
// How it works (and how it differs from CPython's pipe + lock + feeder thread): the items live
// in a ring buffer in an anonymous shared mapping made when the queue is constructed, with one
// robust process-shared mutex for the writers and one for the readers (a killed process does
// not wedge the others; a producer and a consumer never wait for each other's lock) and futex
// wake-ups. put() writes the item straight into shared memory, so a get() in another process can
// see it as soon as put() returns (CPython's empty() is often still True right after put()).
// Like CPython's, put() does not block on bytes, only on `maxsize`: an item larger than half
// the ring, or one that finds the ring still full after a short wait (at most ~10 ms, while
// consumers are draining it), is handed to a per-process background feeder thread that
// streams it in chunks, so items of any size work. Differences from CPython, by design: when
// consumers are alive but slower than a producer, put() paces the producer (waiting for room,
// or for the feeder to drain a backlog over half a ring, as long as the consumers make
// progress) instead of buffering without bound; when the consumers are gone or stalled, the
// backlog grows in the producer's memory exactly as CPython's buffer does. A process that put
// items still held by its feeder waits for them to be written at exit (CPython's join_thread
// semantics, including the hang when nobody reads: see cancel_join_thread()).
//
// Timeouts are Python's (seconds; nullopt = forever; negative = 0) and exact: they are absolute
// CLOCK_MONOTONIC deadlines, so get(true, 0.2) on an empty queue throws queue.Empty after 0.2 s.
// Memory is returned to the system when the last process holding the queue destroys it or
// exits; nothing is created in /dev/shm or the file system.
//
// A queue made without a Context (or with the fork one) is shared with children created by fork()
// only, as CPython's fork-context queues; one made with the spawn or forkserver Context lives in a
// memfd and can also be given to such a child (mpc/spawn.hpp: SpawnArgs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "mpc/context.hpp"
#include "mpc/deadline.hpp"
#include "mpc/value.hpp"

namespace mpc {

namespace detail {
struct QueueLocal;
struct SimpleQueueLocal;
struct SpawnAccess;
}  // namespace detail

// Bytes of shared ring per queue unless given. Items larger than half of it are streamed.
inline constexpr std::size_t kDefaultQueueRingBytes = std::size_t{1} << 20;

class Queue {
 public:
  // maxsize <= 0: unbounded (as CPython). ring_bytes: size of the shared ring (rounded up to a
  // power of two, at least 4 KiB).
  explicit Queue(std::int64_t maxsize = 0, std::size_t ring_bytes = kDefaultQueueRingBytes);
  explicit Queue(Context context, std::int64_t maxsize = 0, std::size_t ring_bytes = kDefaultQueueRingBytes);
  Queue(Queue&&) noexcept;
  Queue& operator=(Queue&&) noexcept;
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  // Flushes this process's feeder (unless cancel_join_thread()) and unmaps.
  virtual ~Queue();

  // Python-shaped. put: queue.Full (mpc::QueueFull) when no slot under maxsize frees up in
  // time; get: queue.Empty (mpc::QueueEmpty). `timeout` is ignored when block is false.
  // After close(): ValueError("Queue <...> is closed"). A pickling error is raised by put()
  // itself and nothing is queued (CPython reports it later from its feeder thread).
  void put(const Value& obj, bool block = true, Timeout timeout = std::nullopt);
  Value get(bool block = true, Timeout timeout = std::nullopt);
  void put_nowait(const Value& obj) { put(obj, false); }
  Value get_nowait() { return get(false); }

  // Non-throwing where running out of time is an expected outcome.
  bool try_put(const Value& obj, Timeout timeout = 0.0);  // false: still full at the deadline
  std::optional<Value> try_get(Timeout timeout = 0.0);    // nullopt: still empty

  // Items put and not yet got, across all processes (including items still held by a feeder).
  [[nodiscard]] std::int64_t qsize() const;
  // No item ready to get. After close() in a process that has put items: OSError("handle is
  // closed"), as CPython (whose feeder closes the pipe).
  [[nodiscard]] bool empty() const;
  [[nodiscard]] bool full() const;
  [[nodiscard]] std::int64_t maxsize() const;

  // No more put()/get() from this process (this object); the feeder flushes and stops. As in
  // CPython, whose feeder thread then closes the pipe: if this process has put, get()s blocked
  // in its other threads raise OSError("handle is closed"); if it never put, they run their
  // course (an item, or queue.Empty at their timeout). Other processes are not affected.
  // Idempotent.
  void close();
  // Waits for the feeder to have written everything (AssertionError if not closed). After
  // cancel_join_thread() it returns at once.
  void join_thread();
  // This process will not wait for its unwritten items at close/exit/destruction: they are
  // discarded (and taken out of qsize()).
  void cancel_join_thread();

  [[nodiscard]] bool closed() const noexcept;

 protected:
  Queue(Context context, std::int64_t maxsize, std::size_t ring_bytes, bool joinable);
  Queue(std::shared_ptr<void> mem, bool joinable);  // a spawning parent's queue
  [[nodiscard]] const std::shared_ptr<void>& mapping() const noexcept;
  [[nodiscard]] std::string describe() const;
  friend struct detail::SpawnAccess;
  std::unique_ptr<detail::QueueLocal> local_;
};

class JoinableQueue : public Queue {
 public:
  explicit JoinableQueue(std::int64_t maxsize = 0, std::size_t ring_bytes = kDefaultQueueRingBytes);
  explicit JoinableQueue(Context context, std::int64_t maxsize = 0, std::size_t ring_bytes = kDefaultQueueRingBytes);

  // Every put() adds an unfinished task; task_done() finishes one (ValueError("task_done()
  // called too many times") when none is left); join() blocks until none is left.
  void task_done();
  void join();
  bool try_join(Timeout timeout);  // false: tasks still unfinished at the deadline

 private:
  friend struct detail::SpawnAccess;
  explicit JoinableQueue(std::shared_ptr<void> mem) : Queue(std::move(mem), true) {}
};

// A locked pipe in CPython: put() writes synchronously (blocking while the ring is full), so
// the item is visible to get() at once. No maxsize, no qsize, no feeder thread.
class SimpleQueue {
 public:
  explicit SimpleQueue(std::size_t ring_bytes = kDefaultQueueRingBytes);
  explicit SimpleQueue(Context context, std::size_t ring_bytes = kDefaultQueueRingBytes);
  SimpleQueue(SimpleQueue&&) noexcept;
  SimpleQueue& operator=(SimpleQueue&&) noexcept;
  SimpleQueue(const SimpleQueue&) = delete;
  SimpleQueue& operator=(const SimpleQueue&) = delete;
  ~SimpleQueue();

  // After close(): OSError("handle is closed").
  void put(const Value& obj);
  Value get();
  std::optional<Value> try_get(Timeout timeout = 0.0);
  [[nodiscard]] bool empty() const;
  void close();  // idempotent
  [[nodiscard]] bool closed() const noexcept;

 private:
  friend struct detail::SpawnAccess;
  explicit SimpleQueue(std::shared_ptr<void> mem);
  [[nodiscard]] const std::shared_ptr<void>& mapping() const noexcept;
  std::unique_ptr<detail::SimpleQueueLocal> local_;
};

namespace detail {
// Writes out every queue's pending items in this process (the exit-time join of CPython's
// feeder threads). mpc::Process calls it in a child before _exit; an atexit handler calls it
// too.
void flush_queues_before_exit() noexcept;
}  // namespace detail

}  // namespace mpc
