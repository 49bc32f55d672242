#include "channel.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>
#include <type_traits>

#include "futex.hpp"
#include "io.hpp"
#include "mpc/errors.hpp"
#include "shared_mapping.hpp"

namespace mpc::detail {

namespace {

constexpr std::uint64_t kMagic = 0x6d70632d6368616eULL;  // "mpc-chan"
constexpr std::size_t kHeaderBytes = 4096;               // ring data starts one page in
constexpr std::size_t kMinRing = 4096;

// Record layout in the ring (8-byte aligned):
//   u32 tag (kind | flags), u32 payload length in this record,
//   chunks only: u64 stream id, FIRST chunks only: u64 total item length,
//   payload, padding to 8.
enum : std::uint32_t {
  kWhole = 1,
  kChunk = 2,
  kKindMask = 0xff,
  kFirst = 0x100,
  kLast = 0x200,
};
constexpr std::uint64_t kWholeHeader = 8;
constexpr std::uint64_t kChunkHeader = 16;
constexpr std::uint64_t kFirstHeader = 24;

constexpr std::uint64_t pad8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

// How long a waiter sleeps before checking whether the process owning a stream it waits on is
// still alive.
constexpr auto kLivenessSlice = std::chrono::milliseconds(100);
// How long a getter spins on the data word before sleeping in the kernel.
constexpr auto kSpinBudget = std::chrono::microseconds(50);
constexpr auto kPauseBudget = std::chrono::microseconds(20);  // of which spent pausing, not yielding
// How long put() waits for ring space before handing an item to its feeder thread.
// Long enough to ride out a consumer descheduled on a busy machine, short enough that a
// producer facing absent consumers notices quickly (once; it then stops waiting).
constexpr auto kPutWaitBudget = std::chrono::milliseconds(10);

// An event count: a sequence word to sleep on, and who is waiting on it. The two halves of
// the channel (writers, readers) have their own locks, so a waiter and its waker do not share
// a lock: they meet Dekker-style (the waiter registers, then re-checks its condition; the
// waker publishes, then checks for waiters), each with a full fence in between. `seq` is only
// bumped while somebody waits, so a stream of puts and gets with nobody waiting writes no
// extra cache line. A process killed while waiting leaves a count too high: a few needless
// bumps and wake-ups, nothing worse.
struct alignas(64) Word {
  std::atomic<std::uint32_t> seq{0};
  std::atomic<std::uint32_t> waiters{0};   // spinning or sleeping
  std::atomic<std::uint32_t> sleepers{0};  // of those, in futex_wait (they need a futex_wake)
};

}  // namespace

// The mapping's header. Writer fields and reader fields live on separate cache lines under
// separate robust mutexes: with one producer and one consumer, each keeps its own lock and
// bookkeeping in its own cache, and only the published positions and the records travel.
struct ChannelShared {
  // Immutable after construction.
  std::uint64_t magic;
  std::uint64_t capacity;
  std::uint64_t mask;
  std::int64_t maxsize;

  // Each side's lock and private bookkeeping share a cache line that the other side never
  // touches; what the other side reads (tail, head, the counts) sits on lines of their own, so
  // that a reader polling `tail` does not steal the writers' lock line on every item.

  // ---- writers: guarded by wlock ----
  alignas(64) pthread_mutex_t wlock;
  std::uint64_t head_seen = 0;  // writers' last look at head (refreshed when short of room)
  std::uint64_t next_stream = 0;
  std::atomic<std::int64_t> put_count{0};  // items counted in (qsize = put_count - got_count)
  // Read by every put, by readers only while reassembling a stream: on the writers' line, not
  // on tail's, which readers poll (a put would otherwise miss in cache on every item).
  std::atomic<std::uint64_t> writer_stream{0};  // stream being written (0: none); a dead writer's is cleared by CAS
  std::atomic<pid_t> writer_pid{0};
  // Published by writers, read by readers.
  alignas(64) std::atomic<std::uint64_t> tail{0};  // end of published records (release, after the bytes)

  // ---- readers: guarded by rlock ----
  alignas(64) pthread_mutex_t rlock;
  // Claiming a stream is one store (reader_stream = its id) and the records stay at the head
  // until consumed, so a reader killed at any point leaves a state the next reader can repair:
  // the stream becomes the orphan_stream and its chunks are dropped.
  std::uint64_t reader_stream = 0;  // stream being reassembled (0: none)
  pid_t reader_pid = 0;
  std::uint64_t orphan_stream = 0;  // last stream left half-read (its chunks are dropped)
  std::uint64_t tail_seen = 0;      // readers' last look at tail (see reader_tail)
  // Published by readers, read by writers (rarely: when short of room, or bounded).
  alignas(64) std::atomic<std::uint64_t> head{0};  // start of unconsumed records (release)
  std::atomic<std::int64_t> got_count{0};          // items taken out (got, or lost with a dead reader)

  // ---- shared ----
  alignas(64) std::atomic<std::int64_t> unfinished{0};
  // Free bytes the writers sleeping on `space` need before it is worth waking them. Without
  // it a writer facing a full ring would be woken by every get() to write a single record.
  std::atomic<std::uint64_t> space_wanted{0};

  Word data;   // records were published, a stream was released or abandoned
  Word space;  // ring space was freed, or the writer_stream was released
  Word slot;   // got_count went up (room under maxsize)
  Word tasks;  // unfinished reached 0

  std::byte* ring() { return reinterpret_cast<std::byte*>(this) + kHeaderBytes; }
  [[nodiscard]] bool bounded() const { return maxsize != INT64_MAX; }
};

static_assert(sizeof(ChannelShared) <= kHeaderBytes);

namespace {

bool spinning_helps() {
  static const bool multi = get_nprocs() > 1;
  return multi;
}

bool process_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH; }

Deadline liveness_slice() { return Deadline::after_seconds(std::chrono::duration<double>(kLivenessSlice).count()); }

Deadline sooner(const Deadline& a, const Deadline& b) {
  if (a.is_never()) return b;
  if (b.is_never()) return a;
  return *a.time_point() <= *b.time_point() ? a : b;
}

// Spins (unlocked, not registered as a waiter) until hint() says the wait may be over,
// *interrupt is raised or kSpinBudget is spent. Pauses for the first kPauseBudget; then
// sched_yield() so that, on a busy machine, the process we are waiting for can have this CPU.
template <class Hint>
void spin_until(Hint&& hint, const std::atomic<bool>* interrupt) {
  const auto start = std::chrono::steady_clock::now();
  bool yielding = false;
  for (unsigned i = 1;; ++i) {
    if (hint() || (interrupt && interrupt->load(std::memory_order_relaxed))) return;
    if ((i & 31u) == 0) {
      const auto spent = std::chrono::steady_clock::now() - start;
      if (spent >= kSpinBudget) return;
      yielding = spent >= kPauseBudget;
    }
    if (yielding) {
      sched_yield();
    } else {
      // Several pauses per look: each look pulls the line the peer is about to write, and a
      // peer left alone for a moment writes a few items into lines it already owns.
      for (int k = 0; k < 8; ++k) cpu_relax();
    }
  }
}

// For wait_until() calls that should go straight to sleep.
constexpr std::nullptr_t kNoSpin = nullptr;

}  // namespace

// One half's critical section (writers' or readers' lock, or none for lock-free waits).
// Wake-ups requested with notify() are made after unlocking, so that woken processes do not
// run straight into a mutex we still hold.
class Critical {
 public:
  Critical(ChannelShared* s, pthread_mutex_t* m) : s_(s), m_(m) { lock(); }
  ~Critical() {
    if (locked_) unlock();
  }
  Critical(const Critical&) = delete;
  Critical& operator=(const Critical&) = delete;

  void lock() {
    if (!m_) return;
    // Spin on trylock for a moment: critical sections are short, and sleeping in the kernel
    // for one costs far more.
    int r = EBUSY;
    if (spinning_helps()) {
      for (int i = 0; i < 128 && (r = pthread_mutex_trylock(m_)) == EBUSY; ++i) cpu_relax();
    }
    if (r == EBUSY) r = pthread_mutex_lock(m_);
    if (r == EOWNERDEAD) {
      // A process died holding the lock. Critical sections publish their work with their last
      // stores, so the state is consistent; say so and go on.
      pthread_mutex_consistent(m_);
      r = 0;
    }
    if (r != 0) raise_errno(r);
    locked_ = true;
  }

  void unlock() {
    if (m_ && locked_) pthread_mutex_unlock(m_);
    locked_ = false;
    flush_wakes();
  }

  // Call after publishing a state change that waiters on `w` may be waiting for.
  void notify(Word& w) {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // publish before looking for waiters
    if (w.waiters.load(std::memory_order_relaxed) == 0) return;
    w.seq.fetch_add(1, std::memory_order_seq_cst);
    if (w.sleepers.load(std::memory_order_seq_cst) > 0) wake_ |= bit(w);
    if (!locked_) flush_wakes();
  }

  // Waits until ready() (true) or the deadline or *interrupt (false). Called and returns with
  // this side's lock held; ready() is evaluated with it held.
  // spin_hint (or kNoSpin): a lock-free look, atomics only, saying that ready() may hold now.
  // With one, the waiter first spins on it unlocked and WITHOUT registering as a waiter, so a
  // peer that keeps this waiter fed finds nobody to wake and never touches the wait word's
  // cache line; only when the spin budget is spent does it register and sleep.
  template <class Ready, class Hint>
  bool wait_until(Word& w, Ready&& ready, const Deadline& deadline, Hint&& spin_hint,
                  const std::atomic<bool>* interrupt = nullptr) {
    bool spun = false;
    for (;;) {
      if (ready()) return true;
      if ((interrupt && interrupt->load(std::memory_order_relaxed)) || deadline.expired()) return false;
      if constexpr (!std::is_same_v<std::decay_t<Hint>, std::nullptr_t>) {
        if (!spun && spinning_helps()) {
          spun = true;
          unlock();
          spin_until(spin_hint, interrupt);
          lock();
          continue;  // ready() is decided under the lock
        }
      }
      const std::uint32_t old = w.seq.load(std::memory_order_acquire);
      w.waiters.fetch_add(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);  // register before re-checking
      if (ready()) {
        w.waiters.fetch_sub(1, std::memory_order_relaxed);
        return true;
      }
      unlock();
      if (w.seq.load(std::memory_order_acquire) == old && !(interrupt && interrupt->load(std::memory_order_relaxed)) &&
          !deadline.expired()) {
        w.sleepers.fetch_add(1, std::memory_order_seq_cst);
        futex_wait(&w.seq, old, deadline.abs_timespec());
        w.sleepers.fetch_sub(1, std::memory_order_relaxed);
      }
      w.waiters.fetch_sub(1, std::memory_order_relaxed);
      spun = false;  // woken: a later wait may spin again
      lock();
    }
  }

 private:
  void flush_wakes() {
    unsigned m = std::exchange(wake_, 0u);
    if (m & 1u) futex_wake(&s_->data.seq);
    if (m & 2u) futex_wake(&s_->space.seq);
    if (m & 4u) futex_wake(&s_->slot.seq);
    if (m & 8u) futex_wake(&s_->tasks.seq);
  }

  unsigned bit(const Word& w) const {
    if (&w == &s_->data) return 1u;
    if (&w == &s_->space) return 2u;
    if (&w == &s_->slot) return 4u;
    return 8u;
  }

  ChannelShared* s_;
  pthread_mutex_t* m_;
  bool locked_ = false;
  unsigned wake_ = 0;
};

namespace {

// ---- ring access ------------------------------------------------------------------------------

void ring_write(ChannelShared* s, std::uint64_t pos, const void* src, std::size_t n) {
  auto* from = static_cast<const std::byte*>(src);
  std::uint64_t off = pos & s->mask;
  std::size_t first = std::min<std::uint64_t>(n, s->capacity - off);
  std::memcpy(s->ring() + off, from, first);
  if (first < n) std::memcpy(s->ring(), from + first, n - first);
}

void ring_read(ChannelShared* s, std::uint64_t pos, void* dst, std::size_t n) {
  auto* to = static_cast<std::byte*>(dst);
  std::uint64_t off = pos & s->mask;
  std::size_t first = std::min<std::uint64_t>(n, s->capacity - off);
  std::memcpy(to, s->ring() + off, first);
  if (first < n) std::memcpy(to + first, s->ring(), n - first);
}

// Copies bytes [off, off + n) of a gathered item into the ring at pos.
void ring_write(ChannelShared* s, std::uint64_t pos, const Gather& item, std::uint64_t off, std::size_t n) {
  for (std::string_view part : item.part) {
    if (n == 0) break;
    if (off >= part.size()) {
      off -= part.size();
      continue;
    }
    const std::size_t k = std::min<std::uint64_t>(n, part.size() - off);
    ring_write(s, pos, part.data() + off, k);
    pos += k;
    n -= k;
    off = 0;
  }
}

// Copies n bytes of the ring at pos into bytes [off, off + n) of a scattered item.
void ring_read(ChannelShared* s, std::uint64_t pos, const Scatter& to, std::uint64_t off, std::size_t n) {
  for (std::span<char> part : to.part) {
    if (n == 0) break;
    if (off >= part.size()) {
      off -= part.size();
      continue;
    }
    const std::size_t k = std::min<std::uint64_t>(n, part.size() - off);
    ring_read(s, pos, part.data() + off, k);
    pos += k;
    n -= k;
    off = 0;
  }
}

// Header fields are 8 bytes at 8-aligned positions and the capacity is a multiple of 8, so a
// field never straddles the end of the ring: plain loads and stores.
std::uint64_t load8(ChannelShared* s, std::uint64_t pos) {
  std::uint64_t v;
  std::memcpy(&v, s->ring() + (pos & s->mask), 8);
  return v;
}
void store8(ChannelShared* s, std::uint64_t pos, std::uint64_t v) { std::memcpy(s->ring() + (pos & s->mask), &v, 8); }

struct RecordHeader {
  std::uint32_t tag = 0;
  std::uint32_t len = 0;
  std::uint64_t stream = 0;
  std::uint64_t total = 0;

  [[nodiscard]] std::uint32_t kind() const { return tag & kKindMask; }
  [[nodiscard]] bool first() const { return (tag & kFirst) != 0; }
  [[nodiscard]] bool last() const { return (tag & kLast) != 0; }
  [[nodiscard]] std::uint64_t header_bytes() const {
    return kind() == kWhole ? kWholeHeader : first() ? kFirstHeader : kChunkHeader;
  }
  [[nodiscard]] std::uint64_t record_bytes() const { return header_bytes() + pad8(len); }
};

// Readers only, at `pos` < tail (published).
RecordHeader peek(ChannelShared* s, std::uint64_t pos) {
  RecordHeader h;
  const std::uint64_t w = load8(s, pos);
  h.tag = static_cast<std::uint32_t>(w);
  h.len = static_cast<std::uint32_t>(w >> 32);
  if (h.kind() == kChunk) {
    h.stream = load8(s, pos + 8);
    if (h.first()) h.total = load8(s, pos + 16);
  }
  return h;
}

// ---- writer side (wlock held) -----------------------------------------------------------------

// Free bytes, refreshing the cached head only when the cached view says there is not enough.
std::uint64_t room(ChannelShared* s, std::uint64_t need) {
  const std::uint64_t t = s->tail.load(std::memory_order_relaxed);
  if (s->capacity - (t - s->head_seen) < need) s->head_seen = s->head.load(std::memory_order_acquire);
  return s->capacity - (t - s->head_seen);
}

// Writes a record and publishes it: the bytes, then tail (release), so a reader that sees the
// new tail sees the bytes.
void publish(ChannelShared* s, Critical& w, const RecordHeader& h, const Gather& item, std::uint64_t off) {
  const std::uint64_t t = s->tail.load(std::memory_order_relaxed);
  store8(s, t, std::uint64_t{h.tag} | (std::uint64_t{h.len} << 32));
  if (h.kind() == kChunk) {
    store8(s, t + 8, h.stream);
    if (h.first()) store8(s, t + 16, h.total);
  }
  ring_write(s, t + h.header_bytes(), item, off, h.len);
  s->tail.store(t + h.record_bytes(), std::memory_order_release);
  w.notify(s->data);
}

void wait_for_space(ChannelShared* s, Critical& w, std::uint64_t want, const Deadline& deadline,
                    const std::atomic<bool>* abort, bool need_stream_free) {
  want = std::min(want, s->capacity);
  // Writers are serialized by wlock, so the smallest want among them is kept without races.
  if (s->space.waiters.load(std::memory_order_relaxed) == 0 || want < s->space_wanted.load(std::memory_order_relaxed)) {
    s->space_wanted.store(want, std::memory_order_relaxed);
  }
  w.wait_until(
      s->space,
      [&] {
        return (abort && abort->load(std::memory_order_relaxed)) ||
               ((!need_stream_free || s->writer_stream.load(std::memory_order_relaxed) == 0) && room(s, want) >= want);
      },
      deadline, kNoSpin, abort);
}

void release_writer_stream(ChannelShared* s, Critical& w) {
  s->writer_stream.store(0, std::memory_order_release);
  s->writer_pid.store(0, std::memory_order_relaxed);
  w.notify(s->space);  // writers waiting for the stream to end
  w.notify(s->data);   // a reader reassembling it notices if it was cut short
}

// ---- reader side (rlock held) -----------------------------------------------------------------

// Called after the head moved: wakes writers once there is as much room as they asked for.
void space_freed(ChannelShared* s, Critical& r) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (s->space.waiters.load(std::memory_order_relaxed) == 0) return;
  const std::uint64_t free =
      s->capacity - (s->tail.load(std::memory_order_acquire) - s->head.load(std::memory_order_relaxed));
  if (free >= s->space_wanted.load(std::memory_order_relaxed)) r.notify(s->space);
}

// Readers' view of tail: loaded again (acquire) only when the last look says nothing lies past
// `pos`, so a reader working through a backlog does not pull the writers' tail line per item.
// Positions only grow, so the cached value is never ahead of the truth.
std::uint64_t reader_tail(ChannelShared* s, std::uint64_t pos) {
  if (pos >= s->tail_seen) s->tail_seen = s->tail.load(std::memory_order_acquire);
  return s->tail_seen;
}

void item_out(ChannelShared* s, Critical& r) {
  s->got_count.fetch_add(1, std::memory_order_release);
  if (s->bounded()) r.notify(s->slot);
}

// With no stream being reassembled, a chunk at the head is an orphan if it is not a FIRST
// (its stream's reader finished or gave up) or belongs to the orphan_stream (its reader died
// before consuming it). Orphans are dropped; afterwards the head is a WHOLE or FIRST record
// that can be taken, or the ring is empty.
void drop_orphans(ChannelShared* s, Critical& r) {
  if (s->reader_stream != 0) return;
  bool freed = false;
  std::uint64_t h = s->head.load(std::memory_order_relaxed);
  while (h != reader_tail(s, h)) {
    const std::uint32_t tag = static_cast<std::uint32_t>(load8(s, h));
    if ((tag & kKindMask) == kWhole) break;  // the common case: no second look needed
    RecordHeader k = peek(s, h);
    if (k.kind() != kChunk || (k.first() && k.stream != s->orphan_stream)) break;
    h += k.record_bytes();
    freed = true;
  }
  if (freed) {
    s->head.store(h, std::memory_order_release);
    space_freed(s, r);
  }
}

// Something at the head for a reader to look at (an item, or orphans to drop).
bool head_ready(ChannelShared* s) {
  if (s->reader_stream != 0) return false;
  const std::uint64_t head = s->head.load(std::memory_order_relaxed);
  return head != reader_tail(s, head);
}

// A reader that died reassembling a stream: its item is lost, its chunks become orphans.
void reap_dead_reader(ChannelShared* s, Critical& r) {
  if (s->reader_stream == 0 || !process_gone(s->reader_pid)) return;
  s->orphan_stream = s->reader_stream;
  s->reader_stream = 0;
  s->reader_pid = 0;
  item_out(s, r);
  r.notify(s->data);
  drop_orphans(s, r);
}

// A writer that died streaming: readers and writers waiting on its stream move on.
void reap_dead_writer(ChannelShared* s, Critical& any) {
  std::uint64_t id = s->writer_stream.load(std::memory_order_acquire);
  if (id != 0 && process_gone(s->writer_pid.load(std::memory_order_relaxed)) &&
      s->writer_stream.compare_exchange_strong(id, 0, std::memory_order_acq_rel)) {
    s->writer_pid.store(0, std::memory_order_relaxed);
    any.notify(s->space);
    any.notify(s->data);
  }
}

}  // namespace

// ---- construction ------------------------------------------------------------------------------

Channel::Channel(std::size_t ring_bytes, std::int64_t maxsize, StartMethod method) {
  std::size_t cap = kMinRing;
  while (cap < ring_bytes) cap <<= 1;
  // Anonymous for fork (inherited by fork(), invisible to everything else), a memfd for spawn;
  // either way released by the kernel with the last mapping.
  std::shared_ptr<void> mem = map_shared(kHeaderBytes + cap, method);
  auto* s = new (mem.get()) ChannelShared{};
  s->magic = kMagic;
  s->capacity = cap;
  s->mask = cap - 1;
  s->maxsize = maxsize <= 0 ? INT64_MAX : maxsize;

  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int r = pthread_mutex_init(&s->wlock, &attr);
  if (r == 0) r = pthread_mutex_init(&s->rlock, &attr);
  pthread_mutexattr_destroy(&attr);
  if (r != 0) raise_errno(r);
  mem_ = std::move(mem);
  shared_ = s;
}

Channel::Channel(std::shared_ptr<void> mem) {
  // A spawning parent's channel: check that it is one before trusting its sizes.
  const std::size_t len = shared_len(mem);
  auto* s = static_cast<ChannelShared*>(mem.get());
  if (len < kHeaderBytes + kMinRing || s->magic != kMagic || s->capacity < kMinRing ||
      (s->capacity & (s->capacity - 1)) != 0 || s->mask != s->capacity - 1 || len < kHeaderBytes + s->capacity)
    throw ValueError("the shared memory given does not hold a queue");
  mem_ = std::move(mem);
  shared_ = s;
}

// No pthread_mutex_destroy: other processes may still use the mutexes; the memory goes away with
// the last mapping.
Channel::~Channel() = default;

std::size_t Channel::ring_bytes() const { return shared_->capacity; }
std::int64_t Channel::maxsize() const { return shared_->maxsize; }

// ---- put / write ----------------------------------------------------------------------------

Channel::PutOutcome Channel::put(const Gather& item, const Deadline& slot_deadline, bool write_now, bool count_task) {
  ChannelShared* s = shared_;
  const std::uint64_t rec = kWholeHeader + pad8(item.size());
  Critical w(s, &s->wlock);
  if (s->bounded()) {
    const bool room_for_one = w.wait_until(
        s->slot,
        [&] {
          return s->put_count.load(std::memory_order_relaxed) - s->got_count.load(std::memory_order_acquire) <
                 s->maxsize;
        },
        slot_deadline, kNoSpin);
    if (!room_for_one) return PutOutcome::full;
  }
  s->put_count.store(s->put_count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  if (count_task) s->unfinished.fetch_add(1, std::memory_order_acq_rel);
  if (!write_now || rec > s->capacity / 2) return PutOutcome::reserved;
  if (s->writer_stream.load(std::memory_order_relaxed) != 0) return PutOutcome::reserved;
  if (room(s, rec) < rec) {
    // A full ring usually means the consumers are a little slower than this producer. Sleep
    // until a slice of the ring (1/64) is free, at most kPutWaitBudget, rather than hand the
    // item to the feeder thread: one wake-up then lets this producer write a thousand small
    // items directly, where the feeder would cost a thread hand-off per item. Bounded, so
    // put() keeps CPython's "never blocks on bytes" beyond those milliseconds: when the
    // consumers are gone or stalled the item goes to the feeder.
    const Deadline give_up = Deadline::after_seconds(std::chrono::duration<double>(kPutWaitBudget).count());
    wait_for_space(s, w, std::max(rec, s->capacity / 64), give_up, nullptr, true);
    if (s->writer_stream.load(std::memory_order_relaxed) != 0 || room(s, rec) < rec) return PutOutcome::reserved;
  }
  RecordHeader h;
  h.tag = kWhole;
  h.len = static_cast<std::uint32_t>(item.size());
  publish(s, w, h, item, 0);
  return PutOutcome::written;
}

void Channel::uncount(std::int64_t items, std::int64_t tasks) {
  ChannelShared* s = shared_;
  Critical w(s, &s->wlock);
  s->put_count.store(s->put_count.load(std::memory_order_relaxed) - items, std::memory_order_release);
  w.notify(s->slot);
  if (tasks > 0 && s->unfinished.fetch_sub(tasks, std::memory_order_acq_rel) - tasks <= 0) w.notify(s->tasks);
}

bool Channel::write_locked(Critical& w, const Gather& item, bool add_count, const std::atomic<bool>* abort) {
  ChannelShared* s = shared_;
  const auto aborted = [abort] { return abort && abort->load(std::memory_order_relaxed); };
  const std::uint64_t whole_rec = kWholeHeader + pad8(item.size());
  const std::uint64_t max_chunk = s->capacity / 2 - kFirstHeader;  // payload bytes per chunk
  const bool whole = whole_rec <= s->capacity / 2;
  // Wait for the right to write: no other stream in progress (and, for a whole record, room;
  // 1/64 of the ring, so that it and the records behind it, a feeder's batch, go in with one
  // wake-up).
  const std::uint64_t want = whole ? std::max(whole_rec, s->capacity / 64) : kFirstHeader + s->capacity / 8;
  for (;;) {
    if (s->writer_stream.load(std::memory_order_relaxed) == 0 && (!whole || room(s, whole_rec) >= whole_rec)) break;
    if (aborted()) return false;
    Deadline slice = liveness_slice();
    wait_for_space(s, w, want, slice, abort, true);
    if (slice.expired()) reap_dead_writer(s, w);
  }

  if (whole) {
    RecordHeader h;
    h.tag = kWhole;
    h.len = static_cast<std::uint32_t>(item.size());
    if (add_count) s->put_count.store(s->put_count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    publish(s, w, h, item, 0);
    return true;
  }

  const std::uint64_t id = ++s->next_stream;
  s->writer_stream.store(id, std::memory_order_release);
  s->writer_pid.store(::getpid(), std::memory_order_relaxed);
  std::uint64_t sent = 0;
  for (;;) {
    const std::uint64_t header = sent == 0 ? kFirstHeader : kChunkHeader;
    const std::uint64_t left = item.size() - sent;
    const std::uint64_t free = room(s, header + pad8(std::min(left, max_chunk)));
    const std::uint64_t space = free > header ? (free - header) & ~std::uint64_t{7} : 0;
    const std::uint64_t chunk = std::min({left, max_chunk, space});
    // Wait for a worthwhile amount of room (an eighth of the ring) unless the rest is smaller:
    // a trickle of tiny chunks would cost a wake-up each.
    if (chunk > 0 && (chunk == left || chunk >= s->capacity / 8)) {
      RecordHeader h;
      h.tag = kChunk | (sent == 0 ? kFirst : 0u) | (chunk == left ? kLast : 0u);
      h.len = static_cast<std::uint32_t>(chunk);
      h.stream = id;
      h.total = item.size();
      if (sent == 0 && add_count) {
        s->put_count.store(s->put_count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      }
      publish(s, w, h, item, sent);
      sent += chunk;
      if (sent == item.size()) {
        release_writer_stream(s, w);
        return true;
      }
      continue;
    }
    if (aborted() || s->writer_stream.load(std::memory_order_relaxed) != id) {
      // Give the stream up (or it was taken from us as dead); a reader holding its first
      // chunks notices the stream is no longer being written and drops what it has.
      if (s->writer_stream.load(std::memory_order_relaxed) == id) release_writer_stream(s, w);
      return false;
    }
    wait_for_space(s, w, header + pad8(std::min(left, s->capacity / 8)), liveness_slice(), abort, false);
  }
}

bool Channel::write(const Gather& item, bool add_count, const std::atomic<bool>* abort) {
  Critical w(shared_, &shared_->wlock);
  return write_locked(w, item, add_count, abort);
}

std::size_t Channel::write_many(std::span<const Gather> items, bool add_count, const std::atomic<bool>* abort) {
  // One lock acquisition for a run of items that fit (a feeder draining its backlog), instead
  // of one per item.
  Critical w(shared_, &shared_->wlock);
  std::size_t n = 0;
  for (const auto& item : items) {
    if (!write_locked(w, item, add_count, abort)) break;
    ++n;
  }
  return n;
}

// ---- get ------------------------------------------------------------------------------------

namespace {

// get() into one string, resized to each item.
class StringSink final : public ItemSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  Scatter place(std::uint64_t total, std::string_view) override {
    out_.resize(total);
    return Scatter{{std::span<char>(out_.data(), out_.size()), {}, {}}};
  }

 private:
  std::string& out_;
};

// The first bytes of the item whose WHOLE or FIRST record is at pos, for ItemSink::place.
std::string_view first_bytes(ChannelShared* s, std::uint64_t pos, const RecordHeader& h,
                             std::array<char, ItemSink::kFirstBytes>& buf) {
  const std::size_t n = std::min<std::size_t>(h.len, buf.size());
  ring_read(s, pos + h.header_bytes(), buf.data(), n);
  return {buf.data(), n};
}

}  // namespace

Channel::GetStatus Channel::get(std::string& out, const Deadline& deadline, const std::atomic<bool>* interrupt) {
  StringSink sink(out);
  return get(sink, deadline, interrupt);
}

Channel::GetStatus Channel::get(ItemSink& sink, const Deadline& deadline, const std::atomic<bool>* interrupt) {
  ChannelShared* s = shared_;
  std::array<char, ItemSink::kFirstBytes> first{};
  const auto interrupted = [interrupt] { return interrupt && interrupt->load(std::memory_order_relaxed); };
  Critical r(s, &s->rlock);
  for (;;) {
    drop_orphans(s, r);
    std::uint64_t head = s->head.load(std::memory_order_relaxed);
    if (s->reader_stream == 0 && head != reader_tail(s, head)) {
      RecordHeader h = peek(s, head);  // a WHOLE or FIRST record (drop_orphans ran)
      if (h.kind() == kWhole) {
        const Scatter to = sink.place(h.len, first_bytes(s, head, h, first));
        ring_read(s, head + kWholeHeader, to, 0, h.len);
        s->head.store(head + h.record_bytes(), std::memory_order_release);  // commit
        item_out(s, r);
        space_freed(s, r);
        return GetStatus::ok;
      }
      // The FIRST chunk of a stream: claim it (one store) and reassemble the whole item, alone
      // (other readers wait for reader_stream to be released).
      const std::uint64_t id = h.stream;
      s->reader_pid = ::getpid();
      s->reader_stream = id;
      const Scatter to = sink.place(h.total, first_bytes(s, head, h, first));
      std::uint64_t got = 0;
      bool abandoned = false;
      for (;;) {
        head = s->head.load(std::memory_order_relaxed);
        if (head != reader_tail(s, head)) {
          RecordHeader k = peek(s, head);
          const bool ours = k.kind() == kChunk && k.stream == id && (got == 0) == k.first();
          if (!ours || got + k.len > h.total) {
            abandoned = true;  // the writer gave up; what follows belongs to someone else
            break;
          }
          ring_read(s, head + k.header_bytes(), to, got, k.len);
          got += k.len;
          s->head.store(head + k.record_bytes(), std::memory_order_release);
          space_freed(s, r);
          if (k.last()) break;
          continue;
        }
        if (s->writer_stream.load(std::memory_order_acquire) != id || interrupted()) {
          abandoned = true;
          break;
        }
        // Mid-item the caller's deadline no longer applies (as in CPython, whose timeout only
        // bounds waiting for the first byte); a dead writer is detected instead.
        Deadline slice = liveness_slice();
        r.wait_until(
            s->data,
            [&] {
              const std::uint64_t h = s->head.load(std::memory_order_relaxed);
              return h != reader_tail(s, h) || s->writer_stream.load(std::memory_order_acquire) != id;
            },
            slice, kNoSpin, interrupt);
        if (slice.expired()) reap_dead_writer(s, r);
      }
      const bool complete = !abandoned && got == h.total;
      if (!complete) s->orphan_stream = id;  // whatever is left of it is dropped
      s->reader_stream = 0;
      s->reader_pid = 0;
      item_out(s, r);
      r.notify(s->data);  // other readers wait on `data` for the reader_stream to be released
      if (complete) return GetStatus::ok;
      if (interrupted()) return GetStatus::interrupted;
      continue;  // that item is lost; look for the next one within the caller's deadline
    }
    if (interrupted()) return GetStatus::interrupted;
    if (deadline.expired()) return GetStatus::timeout;
    const bool other_stream = s->reader_stream != 0;
    Deadline until = other_stream ? sooner(deadline, liveness_slice()) : deadline;
    // Spin first only when the wait is likely short (no other reader holds a stream).
    const auto data_published = [s] {
      return s->head.load(std::memory_order_relaxed) != s->tail.load(std::memory_order_acquire);
    };
    if (other_stream) {
      r.wait_until(
          s->data, [s] { return head_ready(s); }, until, kNoSpin, interrupt);
    } else {
      r.wait_until(
          s->data, [s] { return head_ready(s); }, until, data_published, interrupt);
    }
    if (other_stream && until.expired() && !deadline.expired()) reap_dead_reader(s, r);
  }
}

// ---- inspection (lock-free snapshots) ---------------------------------------------------------

std::int64_t Channel::qsize() const {
  const std::int64_t got = shared_->got_count.load(std::memory_order_acquire);
  return std::max<std::int64_t>(0, shared_->put_count.load(std::memory_order_acquire) - got);
}

bool Channel::empty() const {
  // Nothing in the ring at all (a half-read stream's leftovers count as something, briefly).
  const std::uint64_t head = shared_->head.load(std::memory_order_acquire);
  return shared_->tail.load(std::memory_order_acquire) == head;
}

bool Channel::full() const { return qsize() >= shared_->maxsize; }

bool Channel::task_done() {
  ChannelShared* s = shared_;
  std::int64_t n = s->unfinished.load(std::memory_order_acquire);
  do {
    if (n <= 0) return false;
  } while (!s->unfinished.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel));
  if (n - 1 == 0) {
    Critical none(s, nullptr);
    none.notify(s->tasks);
  }
  return true;
}

bool Channel::join_tasks(const Deadline& deadline) {
  ChannelShared* s = shared_;
  Critical none(s, nullptr);
  return none.wait_until(
      s->tasks, [s] { return s->unfinished.load(std::memory_order_acquire) <= 0; }, deadline, kNoSpin);
}

void Channel::wake_all() const {
  ChannelShared* s = shared_;
  // The words are bumped so that a waiter between reading a word and sleeping does not miss
  // this; waiters then re-check their own conditions.
  for (Word* w : {&s->data, &s->space, &s->slot, &s->tasks}) {
    w->seq.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(&w->seq);
  }
}

}  // namespace mpc::detail
