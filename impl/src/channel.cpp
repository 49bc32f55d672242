#include "channel.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>

#include "futex.hpp"
#include "io.hpp"
#include "mpc/errors.hpp"

namespace mpc::detail {

namespace {

constexpr std::uint64_t kMagic = 0x6d70632d6368616eULL;  // "mpc-chan"
constexpr std::size_t kHeaderBytes = 4096;                // ring data starts one page in
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
// How long put() waits for ring space before handing an item to its feeder thread.
// Long enough to ride out a consumer descheduled on a busy machine, short enough that a
// producer facing absent consumers notices quickly (once; it then stops waiting).
constexpr auto kPutWaitBudget = std::chrono::milliseconds(10);

// A sequence word to wait on. `seq` changes only while somebody is interested (waiters > 0),
// so that a stream of puts and gets with nobody waiting touches no extra cache line.
struct alignas(64) Word {
  std::atomic<std::uint32_t> seq{0};
  // Guarded by the mutex. May over-count after a process was killed while waiting (harmless:
  // a few needless bumps and wake-ups).
  std::uint32_t waiters = 0;   // spinning or sleeping on seq
  std::uint32_t sleepers = 0;  // of those, sleeping in futex_wait (they need a futex_wake)
};

}  // namespace

struct ChannelShared {
  // Immutable after construction.
  std::uint64_t magic;
  std::uint64_t capacity;
  std::uint64_t mask;
  std::int64_t maxsize;

  alignas(64) pthread_mutex_t mutex;
  // Everything below is guarded by `mutex`.
  std::uint64_t head = 0;  // byte position of the oldest record
  std::uint64_t tail = 0;  // byte position where the next record goes
  std::int64_t ready = 0;  // items whose first record is in the ring and not yet taken
  std::int64_t count = 0;  // qsize()
  std::int64_t unfinished = 0;
  std::uint64_t next_stream = 0;
  std::uint64_t writer_stream = 0;  // stream being written (0: none); only one at a time
  pid_t writer_pid = 0;
  std::uint64_t reader_stream = 0;  // stream being reassembled (0: none); only one at a time
  pid_t reader_pid = 0;
  // Free bytes the writers sleeping on `space` need before it is worth waking them (the
  // smallest want among them). Without it a writer facing a full ring would be woken by every
  // get() to write a single record, a futex round trip per item.
  std::uint64_t space_wanted = 0;
  bool orphans = false;  // chunks of a half-read stream may sit at the head (drop_orphans)

  Word data;   // a record was added, or the reader_stream was released
  Word space;  // ring space was freed, or the writer_stream was released
  Word slot;   // count went down (room under maxsize)
  Word tasks;  // unfinished reached 0

  std::byte* ring() { return reinterpret_cast<std::byte*>(this) + kHeaderBytes; }
};

static_assert(sizeof(ChannelShared) <= kHeaderBytes);

namespace {

bool spinning_helps() {
  static const bool multi = get_nprocs() > 1;
  return multi;
}

bool process_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH; }

// Spins (without the lock) until w.seq moves away from `old`, *interrupt is raised or the
// spin budget is spent. Short pauses first; then sched_yield() so that, on a busy machine, the
// process we are waiting for can have this CPU.
void spin_until_changed(Word& w, std::uint32_t old, const std::atomic<bool>* interrupt) {
  const auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    if (w.seq.load(std::memory_order_acquire) != old) return;
    if (interrupt && interrupt->load(std::memory_order_relaxed)) return;
    if (i < 256) {
      cpu_relax();
      continue;
    }
    if ((i & 15u) == 0) {
      auto spent = std::chrono::steady_clock::now() - start;
      if (spent >= kSpinBudget) return;
    }
    sched_yield();
  }
}

}  // namespace

// The critical section. Wakes requested with bump() are made after unlocking, so that woken
// processes do not immediately collide with our still-held mutex.
class Critical {
 public:
  explicit Critical(ChannelShared* s) : s_(s) { lock(); }
  ~Critical() {
    if (locked_) unlock();
  }
  Critical(const Critical&) = delete;
  Critical& operator=(const Critical&) = delete;

  void lock() {
    // Spin on trylock for a moment: the critical sections are a few hundred nanoseconds, and
    // sleeping in the kernel for that costs ten times more.
    int r = EBUSY;
    if (spinning_helps()) {
      for (int i = 0; i < 128 && (r = pthread_mutex_trylock(&s_->mutex)) == EBUSY; ++i) cpu_relax();
    }
    if (r == EBUSY) r = pthread_mutex_lock(&s_->mutex);
    if (r == EOWNERDEAD) {
      // A process died holding the lock. Our critical sections publish with their last
      // stores, so the state is consistent; say so and go on.
      pthread_mutex_consistent(&s_->mutex);
      r = 0;
    }
    if (r != 0) raise_errno(r);
    locked_ = true;
  }

  void unlock() {
    locked_ = false;
    pthread_mutex_unlock(&s_->mutex);
    unsigned m = std::exchange(wake_, 0u);
    if (m & 1u) futex_wake(&s_->data.seq);
    if (m & 2u) futex_wake(&s_->space.seq);
    if (m & 4u) futex_wake(&s_->slot.seq);
    if (m & 8u) futex_wake(&s_->tasks.seq);
  }

  void bump(Word& w) {
    if (w.waiters == 0) return;
    w.seq.fetch_add(1, std::memory_order_release);
    if (w.sleepers > 0) wake_ |= bit(w);
  }

  // Waits for `w` to change (or the deadline, or *interrupt). Called and returns locked.
  void wait(Word& w, const Deadline& deadline, bool spin, const std::atomic<bool>* interrupt) {
    // Acquire: a waker that set a flag (close()) before bumping the word without the lock is
    // seen here if its bump is.
    const std::uint32_t old = w.seq.load(std::memory_order_acquire);
    ++w.waiters;
    if (spin && spinning_helps()) {
      unlock();
      spin_until_changed(w, old, interrupt);
      lock();
      if (w.seq.load(std::memory_order_relaxed) != old) {
        --w.waiters;
        return;
      }
    }
    if ((interrupt && interrupt->load(std::memory_order_relaxed)) || deadline.expired()) {
      --w.waiters;
      return;
    }
    ++w.sleepers;
    unlock();
    futex_wait(&w.seq, old, deadline.abs_timespec());
    lock();
    --w.sleepers;
    --w.waiters;
  }

 private:
  unsigned bit(const Word& w) const {
    if (&w == &s_->data) return 1u;
    if (&w == &s_->space) return 2u;
    if (&w == &s_->slot) return 4u;
    return 8u;
  }

  ChannelShared* s_;
  bool locked_ = false;
  unsigned wake_ = 0;
};

namespace {

Deadline sooner(const Deadline& a, const Deadline& b) {
  if (a.is_never()) return b;
  if (b.is_never()) return a;
  return *a.time_point() <= *b.time_point() ? a : b;
}

Deadline liveness_slice() { return Deadline::after(std::chrono::duration<double>(kLivenessSlice).count()); }

// ---- ring access (all under the lock) --------------------------------------------------------

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

std::uint64_t ring_free(const ChannelShared* s) { return s->capacity - (s->tail - s->head); }

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

// Header fields are 8 bytes at 8-aligned positions and the capacity is a multiple of 8, so a
// field never straddles the end of the ring: plain loads and stores, no wrap handling.
std::uint64_t load8(ChannelShared* s, std::uint64_t pos) {
  std::uint64_t v;
  std::memcpy(&v, s->ring() + (pos & s->mask), 8);
  return v;
}
void store8(ChannelShared* s, std::uint64_t pos, std::uint64_t v) { std::memcpy(s->ring() + (pos & s->mask), &v, 8); }

RecordHeader peek(ChannelShared* s) {
  RecordHeader h;
  const std::uint64_t w = load8(s, s->head);
  h.tag = static_cast<std::uint32_t>(w);
  h.len = static_cast<std::uint32_t>(w >> 32);
  if (h.kind() == kChunk) {
    h.stream = load8(s, s->head + 8);
    if (h.first()) h.total = load8(s, s->head + 16);
  }
  return h;
}

void append_record(ChannelShared* s, const RecordHeader& h, const void* payload) {
  store8(s, s->tail, std::uint64_t{h.tag} | (std::uint64_t{h.len} << 32));
  if (h.kind() == kChunk) {
    store8(s, s->tail + 8, h.stream);
    if (h.first()) store8(s, s->tail + 16, h.total);
  }
  ring_write(s, s->tail + h.header_bytes(), payload, h.len);
  s->tail += h.record_bytes();  // publish last
}

// Called after the head moved: wakes writers once there is as much room as they asked for.
void space_freed(ChannelShared* s, Critical& c) {
  if (s->space.waiters > 0 && ring_free(s) >= s->space_wanted) c.bump(s->space);
}

// Sleeps on `space` until at least `want` bytes are free (or the stream state changes, or the
// deadline). Called and returns locked.
void wait_for_space(ChannelShared* s, Critical& c, std::uint64_t want, const Deadline& deadline,
                    const std::atomic<bool>* abort) {
  want = std::min(want, s->capacity);
  if (s->space.waiters == 0 || want < s->space_wanted) s->space_wanted = want;
  c.wait(s->space, deadline, false, abort);
}

// Chunks at the head that no reader is reassembling belong to a stream whose reader died or
// that was abandoned before its FIRST chunk was taken; nobody will ever read them.
// Orphans only appear after a stream was left half-read, which sets `orphans`; the common
// path costs one flag test.
void drop_orphans(ChannelShared* s, Critical& c) {
  if (!s->orphans || s->reader_stream != 0) return;
  bool freed = false;
  while (s->head != s->tail) {
    RecordHeader h = peek(s);
    if (h.kind() != kChunk || h.first()) break;
    s->head += h.record_bytes();
    freed = true;
  }
  // More chunks of the orphaned stream can only come from a writer still at it.
  if (s->writer_stream == 0) s->orphans = false;
  if (freed) space_freed(s, c);
}

// Releases streams whose owning process has died. Only called after a wait slice expired.
void reap_dead_streams(ChannelShared* s, Critical& c) {
  if (s->writer_stream != 0 && process_gone(s->writer_pid)) {
    s->writer_stream = 0;
    s->writer_pid = 0;
    c.bump(s->space);
    c.bump(s->data);
  }
  if (s->reader_stream != 0 && process_gone(s->reader_pid)) {
    // The item it was reading is lost; take it out of the counts like a completed get.
    s->reader_stream = 0;
    s->reader_pid = 0;
    s->orphans = true;
    s->count = std::max<std::int64_t>(0, s->count - 1);
    c.bump(s->slot);
    c.bump(s->data);
    drop_orphans(s, c);
  }
}

}  // namespace

// ---- construction ------------------------------------------------------------------------------

Channel::Channel(std::size_t ring_bytes, std::int64_t maxsize) {
  std::size_t cap = kMinRing;
  while (cap < ring_bytes) cap <<= 1;
  map_bytes_ = kHeaderBytes + cap;
  // Anonymous and shared: inherited by fork(), invisible to everything else, and released by
  // the kernel with the last mapping.
  void* mem = ::mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) raise_errno(errno);
  auto* s = new (mem) ChannelShared{};
  s->magic = kMagic;
  s->capacity = cap;
  s->mask = cap - 1;
  s->maxsize = maxsize <= 0 ? INT64_MAX : maxsize;

  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int r = pthread_mutex_init(&s->mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (r != 0) {
    ::munmap(mem, map_bytes_);
    raise_errno(r);
  }
  shared_ = s;
}

Channel::~Channel() {
  // No pthread_mutex_destroy: other processes may still use the mutex; the memory goes away
  // with the last mapping.
  if (shared_) ::munmap(shared_, map_bytes_);
}

std::size_t Channel::ring_bytes() const { return shared_->capacity; }
std::int64_t Channel::maxsize() const { return shared_->maxsize; }

// ---- put / write ----------------------------------------------------------------------------

Channel::PutOutcome Channel::put(std::string_view item, const Deadline& slot_deadline, bool write_now,
                                 bool count_task) {
  ChannelShared* s = shared_;
  const std::uint64_t rec = kWholeHeader + pad8(item.size());
  Critical c(s);
  while (s->count >= s->maxsize) {
    if (slot_deadline.expired()) return PutOutcome::full;
    c.wait(s->slot, slot_deadline, false, nullptr);
  }
  ++s->count;
  if (count_task) ++s->unfinished;
  if (!write_now || rec > s->capacity / 2) return PutOutcome::reserved;
  // A full ring usually means the consumers are a little slower than this producer. Sleep
  // until a slice of the ring (1/64) is free, at most kPutWaitBudget, rather than hand the
  // item to the feeder thread: one futex wake-up then lets this producer write a thousand
  // small items directly, where the feeder would cost a thread hand-off per item. Bounded, so
  // put() keeps CPython's "never blocks on bytes" beyond those milliseconds: when the
  // consumers are gone or stalled the item goes to the feeder.
  std::optional<Deadline> give_up;  // computed only when the ring is full (no clock read per put)
  for (;;) {
    if (s->writer_stream == 0 && rec <= ring_free(s)) {
      RecordHeader h;
      h.tag = kWhole;
      h.len = static_cast<std::uint32_t>(item.size());
      append_record(s, h, item.data());
      ++s->ready;
      c.bump(s->data);
      return PutOutcome::written;
    }
    if (!give_up) give_up = Deadline::after(std::chrono::duration<double>(kPutWaitBudget).count());
    if (s->writer_stream != 0 || give_up->expired()) return PutOutcome::reserved;
    wait_for_space(s, c, std::max(rec, s->capacity / 64), *give_up, nullptr);
  }
}

void Channel::uncount(std::int64_t items, std::int64_t tasks) {
  ChannelShared* s = shared_;
  Critical c(s);
  s->count = std::max<std::int64_t>(0, s->count - items);
  s->unfinished = std::max<std::int64_t>(0, s->unfinished - tasks);
  c.bump(s->slot);
  if (s->unfinished == 0) c.bump(s->tasks);
}

bool Channel::write_locked(Critical& c, std::string_view item, bool add_count, const std::atomic<bool>* abort) {
  ChannelShared* s = shared_;
  const auto aborted = [abort] { return abort && abort->load(std::memory_order_relaxed); };
  const std::uint64_t whole_rec = kWholeHeader + pad8(item.size());
  const std::uint64_t max_chunk = s->capacity / 2 - kFirstHeader;  // payload bytes per chunk
  const bool whole = whole_rec <= s->capacity / 2;
  // Wait for the right to write: no other stream in progress (and, for a whole record, room).
  for (;;) {
    drop_orphans(s, c);
    if (s->writer_stream == 0 && (!whole || whole_rec <= ring_free(s))) break;
    if (aborted()) return false;
    Deadline slice = liveness_slice();
    // A whole record waits for 1/64 of the ring, so that it and the records behind it (a
    // feeder's batch) go in with one wake-up.
    wait_for_space(s, c, whole ? std::max(whole_rec, s->capacity / 64) : kFirstHeader + s->capacity / 8, slice, abort);
    if (slice.expired()) reap_dead_streams(s, c);
  }

  if (whole) {
    RecordHeader h;
    h.tag = kWhole;
    h.len = static_cast<std::uint32_t>(item.size());
    append_record(s, h, item.data());
    ++s->ready;
    if (add_count) ++s->count;
    c.bump(s->data);
    return true;
  }

  const std::uint64_t id = ++s->next_stream;
  s->writer_stream = id;
  s->writer_pid = ::getpid();
  std::uint64_t sent = 0;
  for (;;) {
    const std::uint64_t header = sent == 0 ? kFirstHeader : kChunkHeader;
    const std::uint64_t left = item.size() - sent;
    const std::uint64_t room = ring_free(s) > header ? (ring_free(s) - header) & ~std::uint64_t{7} : 0;
    const std::uint64_t chunk = std::min({left, max_chunk, room});
    // Wait for a worthwhile amount of room (an eighth of the ring) unless the rest is smaller:
    // a trickle of tiny chunks would cost a wake-up each.
    if (chunk > 0 && (chunk == left || chunk >= s->capacity / 8)) {
      RecordHeader h;
      h.tag = kChunk | (sent == 0 ? kFirst : 0u) | (chunk == left ? kLast : 0u);
      h.len = static_cast<std::uint32_t>(chunk);
      h.stream = id;
      h.total = item.size();
      append_record(s, h, item.data() + sent);
      if (sent == 0) {
        ++s->ready;
        if (add_count) ++s->count;
      }
      sent += chunk;
      c.bump(s->data);
      if (sent == item.size()) {
        s->writer_stream = 0;
        s->writer_pid = 0;
        c.bump(s->space);  // other writers wait for the stream to end on `space`
        return true;
      }
      continue;
    }
    if (aborted()) {
      // Give the stream up; a reader holding its first chunks notices the stream is no longer
      // being written and drops what it has.
      s->writer_stream = 0;
      s->writer_pid = 0;
      c.bump(s->space);
      c.bump(s->data);
      return false;
    }
    Deadline slice = liveness_slice();
    wait_for_space(s, c, header + pad8(std::min(left, s->capacity / 8)), slice, abort);
    if (slice.expired()) reap_dead_streams(s, c);
    drop_orphans(s, c);
  }
}

bool Channel::write(std::string_view item, bool add_count, const std::atomic<bool>* abort) {
  Critical c(shared_);
  return write_locked(c, item, add_count, abort);
}

std::size_t Channel::write_many(std::span<const std::string> items, bool add_count, const std::atomic<bool>* abort) {
  // One lock acquisition for a run of items that fit (a feeder draining its backlog), instead
  // of one per item.
  Critical c(shared_);
  std::size_t n = 0;
  for (const auto& item : items) {
    if (!write_locked(c, item, add_count, abort)) break;
    ++n;
  }
  return n;
}

// ---- get ------------------------------------------------------------------------------------

Channel::GetStatus Channel::get(std::string& out, const Deadline& deadline, const std::atomic<bool>* interrupt) {
  ChannelShared* s = shared_;
  const auto interrupted = [interrupt] { return interrupt && interrupt->load(std::memory_order_relaxed); };
  Critical c(s);
  for (;;) {
    drop_orphans(s, c);
    if (s->ready > 0 && s->reader_stream == 0) {
      RecordHeader h = peek(s);
      if (h.kind() == kWhole) {
        out.resize(h.len);
        ring_read(s, s->head + kWholeHeader, out.data(), h.len);
        s->head += h.record_bytes();
        --s->ready;
        --s->count;
        space_freed(s, c);
        c.bump(s->slot);
        return GetStatus::ok;
      }
      // The FIRST chunk of a stream: reassemble the whole item, alone.
      const std::uint64_t id = h.stream;
      s->reader_stream = id;
      s->reader_pid = ::getpid();
      --s->ready;
      out.resize(h.total);
      std::uint64_t got = 0;
      bool abandoned = false;
      for (;;) {
        if (s->head != s->tail) {
          RecordHeader k = peek(s);
          const bool ours = k.kind() == kChunk && k.stream == id && (got == 0) == k.first();
          if (!ours || got + k.len > out.size()) {
            abandoned = true;  // the writer gave up; what follows belongs to someone else
            break;
          }
          ring_read(s, s->head + k.header_bytes(), out.data() + got, k.len);
          got += k.len;
          s->head += k.record_bytes();
          space_freed(s, c);
          if (k.last()) break;
          continue;
        }
        if (s->writer_stream != id || interrupted()) {
          abandoned = true;
          break;
        }
        // Mid-item the caller's deadline no longer applies (as in CPython, whose timeout only
        // bounds waiting for the first byte); a dead writer is detected instead.
        Deadline slice = liveness_slice();
        c.wait(s->data, slice, false, interrupt);
        if (slice.expired() && process_gone(s->writer_pid) && s->writer_stream == id) {
          s->writer_stream = 0;
          s->writer_pid = 0;
          c.bump(s->space);
        }
      }
      s->reader_stream = 0;
      s->reader_pid = 0;
      --s->count;
      c.bump(s->slot);
      c.bump(s->data);  // other readers wait on `data` for the reader_stream to be released
      if (!abandoned && got == out.size()) return GetStatus::ok;
      s->orphans = true;  // whatever is left of that stream
      drop_orphans(s, c);
      if (interrupted()) return GetStatus::interrupted;
      continue;  // that item is lost; look for the next one within the caller's deadline
    }
    if (interrupted()) return GetStatus::interrupted;
    if (deadline.expired()) return GetStatus::timeout;
    const bool other_stream = s->reader_stream != 0;
    Deadline until = other_stream ? sooner(deadline, liveness_slice()) : deadline;
    c.wait(s->data, until, !other_stream, interrupt);
    if (other_stream && until.expired() && !deadline.expired()) reap_dead_streams(s, c);
  }
}

// ---- inspection -----------------------------------------------------------------------------

std::int64_t Channel::qsize() const {
  Critical c(shared_);
  return shared_->count;
}

bool Channel::empty() const {
  Critical c(shared_);
  return shared_->ready == 0;
}

bool Channel::full() const {
  Critical c(shared_);
  return shared_->count >= shared_->maxsize;
}

bool Channel::task_done() {
  ChannelShared* s = shared_;
  Critical c(s);
  if (s->unfinished <= 0) return false;
  if (--s->unfinished == 0) c.bump(s->tasks);
  return true;
}

bool Channel::join_tasks(const Deadline& deadline) {
  ChannelShared* s = shared_;
  Critical c(s);
  while (s->unfinished > 0) {
    if (deadline.expired()) return false;
    c.wait(s->tasks, deadline, false, nullptr);
  }
  return true;
}

void Channel::wake_all() const {
  ChannelShared* s = shared_;
  // The sequence words are bumped so that a waiter between reading the word and sleeping
  // does not miss this; waiters then re-check their own conditions.
  for (Word* w : {&s->data, &s->space, &s->slot, &s->tasks}) {
    w->seq.fetch_add(1, std::memory_order_release);
    futex_wake(&w->seq);
  }
}

}  // namespace mpc::detail
