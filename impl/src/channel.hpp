// Private: the shared-memory message channel under Queue, JoinableQueue and SimpleQueue.
//
// One MAP_SHARED mapping (anonymous, made before fork(); or a memfd for the spawn context, which a
// spawned child maps from the descriptor it is given) holds a header and a byte ring of
// variable-length records (pickled items). Every process that maps it can put and get; the
// kernel frees the memory when the last process unmaps it (or exits), so nothing is ever left in
// /dev/shm.
//
// Synchronization: writers and readers each have a process-shared *robust* pthread mutex and
// their own cache lines; they meet only through the published tail (writers) and head
// (readers) positions, so one producer and one consumer never contend for a lock. A process
// killed inside a critical section does not wedge the others: the next locker gets EOWNERDEAD
// and carries on, because every critical section commits its work with its last store.
// Sleeping uses futex event counts (futex.hpp) rather than pthread condvars, so a process
// killed while waiting leaves nothing behind; a waiter and a waker holding different locks
// meet Dekker-style (register then re-check / publish then look for waiters, with full fences).
// Getters spin briefly before sleeping, so a steady stream of items costs no system calls.
//
// Items whose record fits in half the ring are written whole, in one critical section. Larger
// items are streamed as chunks (FIRST ... LAST) by one writer at a time; one reader at a time
// reassembles them. A stream whose writer or reader dies (checked with kill(pid, 0) while
// waiting on it) is abandoned and its leftover chunks are dropped, so the queue recovers.
//
// Counters kept here for the Queue layer: put_count - got_count (qsize(): items put and not
// yet got, held against `maxsize`), `unfinished` (JoinableQueue tasks).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mpc/context.hpp"
#include "mpc/deadline.hpp"

namespace mpc::detail {

struct ChannelShared;  // lives in the mapping
class Critical;        // the locked section (channel.cpp)

// An item to write as up to three pieces in order (a large bytes pickle: head, the payload
// where the value holds it, tail), so that it is copied once, straight into the ring.
struct Gather {
  std::string_view part[3];
  Gather(std::string_view whole) : part{whole, {}, {}} {}  // NOLINT: implicit on purpose
  Gather(std::string_view a, std::string_view b, std::string_view c) : part{a, b, c} {}
  [[nodiscard]] std::size_t size() const { return part[0].size() + part[1].size() + part[2].size(); }
};

// Where get() puts an item's bytes: up to three pieces whose sizes add up to the item's.
struct Scatter {
  std::span<char> part[3];
};

// Told of each item before its bytes are copied out: its size and its first bytes (up to
// kFirstBytes, fewer only if the item is shorter); says where they go.
class ItemSink {
 public:
  static constexpr std::size_t kFirstBytes = 16;
  virtual Scatter place(std::uint64_t total, std::string_view first) = 0;

 protected:
  ~ItemSink() = default;
};

class Channel {
 public:
  // ring_bytes is rounded up to a power of two (at least 4 KiB). maxsize <= 0: unbounded.
  Channel(std::size_t ring_bytes, std::int64_t maxsize, StartMethod method = StartMethod::fork);
  // A channel made by another process, whose memory a spawned child was given (attach_shared).
  // ValueError when the memory does not hold one.
  explicit Channel(std::shared_ptr<void> mem);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  enum class PutOutcome {
    written,   // counted and in the ring
    reserved,  // counted (a slot under maxsize is held) but not written: the caller must
               // write() it later (it did not fit now, or write_now was false)
    full,      // no slot before the deadline: nothing changed
  };
  // Queue.put: waits (until `slot_deadline`) for count < maxsize, counts the item (and a task
  // when `count_task`), and writes it now when `write_now` and it fits in the free space.
  PutOutcome put(const Gather& item, const Deadline& slot_deadline, bool write_now, bool count_task);

  // Writes one item, blocking for space, streaming it in chunks if it is large. With
  // `add_count` the item is counted when its first record goes in (SimpleQueue). Returns false
  // when `*abort` became true first (the partial item is abandoned; readers drop it).
  bool write(const Gather& item, bool add_count, const std::atomic<bool>* abort);
  // write() for several items in order, under one lock acquisition while they fit. Returns how
  // many were written (fewer only when aborted).
  std::size_t write_many(std::span<const Gather> items, bool add_count, const std::atomic<bool>* abort);

  // Takes the item put (counts) aside without writing it: for items discarded unwritten.
  void uncount(std::int64_t items, std::int64_t tasks);

  enum class GetStatus { ok, timeout, interrupted };
  // Waits until `deadline` for an item and stores it in `out` (resized; its capacity is
  // reused, so a caller can keep one buffer and allocate nothing per item). `*interrupt`
  // turning true (this process closed the queue) ends the wait with `interrupted`.
  GetStatus get(std::string& out, const Deadline& deadline, const std::atomic<bool>* interrupt);
  // The same, with the bytes going where `sink` says (an item abandoned half-way by a dead
  // writer is not returned: `sink` may then be asked again for the next one).
  GetStatus get(ItemSink& sink, const Deadline& deadline, const std::atomic<bool>* interrupt);

  [[nodiscard]] std::int64_t qsize() const;
  [[nodiscard]] bool empty() const;  // no item ready to be taken
  [[nodiscard]] bool full() const;
  [[nodiscard]] std::int64_t maxsize() const;

  // JoinableQueue. task_done() returns false when there was no unfinished task.
  bool task_done();
  bool join_tasks(const Deadline& deadline);

  // Wakes every waiter of this channel in every process (they re-check their conditions):
  // how a local close() reaches this process's own blocked get()s.
  void wake_all() const;

  [[nodiscard]] std::size_t ring_bytes() const;
  // The mapping, for handing it to a spawned child (its memfd: shared_fd()).
  [[nodiscard]] const std::shared_ptr<void>& mapping() const noexcept { return mem_; }

 private:
  bool write_locked(Critical& c, const Gather& item, bool add_count, const std::atomic<bool>* abort);

  std::shared_ptr<void> mem_;
  ChannelShared* shared_ = nullptr;
};

}  // namespace mpc::detail
