// Google Benchmark cases for mpc's synchronization primitives and shared values, with raw C
// baselines (raw_sync.c), and the Queue measured against a raw shared-memory SPSC ring.
//
//   BM_LockUncontended / BM_RawPthreadMutexUncontended: real_time per acquire+release (ns)
//   BM_SemaphoreHandoffRoundTrip / BM_RawFutexRoundTrip: median_us, p99_us of a ping-pong
//     between two processes (two semaphores / two futex words)
//   BM_ValueIncrement2Processes: increments_per_second, `with v.get_lock(): v.value += 1` in 2
//     processes at once
//   BM_BarrierRound2Parties: round_us, one Barrier(2).wait() round (2 processes)
//   BM_RawRing*/BM_Queue*: items_per_second and bytes_per_second, 1 producer -> 1 consumer
//     (BM_Queue4x4: 4 producer and 4 consumer processes)
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "mpc/connection.hpp"
#include "mpc/process.hpp"
#include "mpc/queue.hpp"
#include "mpc/shared_value.hpp"
#include "mpc/sync.hpp"
#include "mpc/value.hpp"
#include "raw_sync.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kHandoffs = 50'000;
constexpr std::size_t kMiB = 1 << 20;

void report_latency(benchmark::State& state, std::vector<double>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  state.counters["median_us"] = ns[ns.size() / 2] / 1000.0;
  state.counters["p99_us"] = ns[std::min(ns.size() - 1, ns.size() * 99 / 100)] / 1000.0;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ---- uncontended lock -----------------------------------------------------------------------

void BM_LockUncontended(benchmark::State& state) {
  mpc::Lock lock;
  for (auto _ : state) {
    lock.acquire();
    lock.release();
  }
}
BENCHMARK(BM_LockUncontended)->Iterations(20'000'000)->Unit(benchmark::kNanosecond);

// Pairs per iteration: the mutex lives in a mapping made per iteration (mmap/munmap cost
// ~15 us here), so it is spread over enough pairs to vanish.
constexpr long kChunk = 200'000;

void BM_RawPthreadMutexUncontended(benchmark::State& state) {
  for (auto _ : state) {
    if (raw_pshared_mutex_loop(kChunk) != 0) state.SkipWithError("mmap failed");
  }
  // Per lock/unlock pair, CPU time (the machine is shared; a descheduled loop is not slower).
  state.counters["pair_ns"] = benchmark::Counter(static_cast<double>(state.iterations() * kChunk),
                                                 benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RawPthreadMutexUncontended)->Iterations(100)->Unit(benchmark::kNanosecond);

void BM_LockUncontendedPerPair(benchmark::State& state) {  // the same shape, for a fair ratio
  for (auto _ : state) {
    mpc::Lock lock;
    for (long i = 0; i < kChunk; ++i) {
      lock.acquire();
      lock.release();
    }
  }
  state.counters["pair_ns"] = benchmark::Counter(static_cast<double>(state.iterations() * kChunk),
                                                 benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_LockUncontendedPerPair)->Iterations(100)->Unit(benchmark::kNanosecond);

// ---- handoff between two processes ----------------------------------------------------------

void BM_SemaphoreHandoffRoundTrip(benchmark::State& state) {
  mpc::Semaphore ping(0), pong(0);
  const auto n = static_cast<long>(state.max_iterations) + 1000;
  mpc::Process peer([&] {
    for (long i = 0; i < n; ++i) {
      ping.acquire();
      pong.release();
    }
  });
  peer.start();
  for (int i = 0; i < 1000; ++i) {  // warm up
    ping.release();
    pong.acquire();
  }
  std::vector<double> ns;
  ns.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    auto t0 = Clock::now();
    ping.release();
    pong.acquire();
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  peer.join();
  report_latency(state, ns);
}
BENCHMARK(BM_SemaphoreHandoffRoundTrip)->Iterations(kHandoffs)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_RawFutexRoundTrip(benchmark::State& state) {
  std::vector<double> ns(kHandoffs);
  for (auto _ : state) {
    // One call runs every round trip (warm-up included) and records each; this loop runs once.
    state.PauseTiming();
    std::vector<double> all(ns.size() + 1000);
    if (raw_futex_ping_pong(static_cast<long>(all.size()), all.data()) != 0) state.SkipWithError("fork failed");
    std::copy(all.begin() + 1000, all.end(), ns.begin());
    state.ResumeTiming();
  }
  report_latency(state, ns);
}
BENCHMARK(BM_RawFutexRoundTrip)->Iterations(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

// ---- Value increment under get_lock(), 2 processes ------------------------------------------

void BM_ValueIncrement2Processes(benchmark::State& state) {
  constexpr int kPer = 200'000;
  for (auto _ : state) {
    mpc::SharedValue v('i', mpc::Value::integer(0));
    auto [go_r, go_w] = mpc::Pipe(false);
    auto work = [&v] {
      mpc::AnyLock& lock = v.get_lock();
      auto* n = static_cast<int*>(v.data());
      for (int i = 0; i < kPer; ++i) {
        lock.acquire();
        *n = *n + 1;  // v.value += 1 on the C++ side: typed access to the shared int
        lock.release();
      }
    };
    mpc::Process other([&] {
      (void)go_r.recv_bytes();
      work();
    });
    other.start();
    auto t0 = Clock::now();
    go_w.send_bytes("go");
    work();
    other.join();
    const double dt = seconds_since(t0);
    state.SetIterationTime(dt);
    if (*static_cast<int*>(v.data()) != 2 * kPer) state.SkipWithError("lost increments");
    state.counters["increments_per_second"] = 2.0 * kPer / dt;
  }
}
BENCHMARK(BM_ValueIncrement2Processes)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// ---- Barrier round, 2 parties ---------------------------------------------------------------

void BM_BarrierRound2Parties(benchmark::State& state) {
  constexpr int kRounds = 20'000;
  for (auto _ : state) {
    mpc::Barrier barrier(2);
    mpc::Process other([&] {
      for (int i = 0; i < kRounds + 100; ++i) barrier.wait();
    });
    other.start();
    for (int i = 0; i < 100; ++i) barrier.wait();
    auto t0 = Clock::now();
    for (int i = 0; i < kRounds; ++i) barrier.wait();
    const double dt = seconds_since(t0);
    other.join();
    state.SetIterationTime(dt);
    state.counters["round_us"] = dt / kRounds * 1e6;
  }
}
BENCHMARK(BM_BarrierRound2Parties)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// ---- shared-memory ring vs Queue ------------------------------------------------------------

void set_rates(benchmark::State& state, double items, double dt, std::size_t item_bytes) {
  state.SetIterationTime(dt);
  state.counters["items_per_second"] = items / dt;
  state.counters["bytes_per_second"] = items * static_cast<double>(item_bytes) / dt;
}

// range(0): item bytes; range(1): ring bytes.
void BM_RawRing(benchmark::State& state) {
  const auto item = static_cast<std::size_t>(state.range(0));
  const auto ring = static_cast<std::size_t>(state.range(1));
  const long n = item >= kMiB ? 4000 : 4'000'000;
  for (auto _ : state) {
    const double dt = raw_spsc_ring(n, item, ring);
    if (dt < 0) {
      state.SkipWithError("ring failed");
      break;
    }
    set_rates(state, static_cast<double>(n), dt, item);
  }
}
BENCHMARK(BM_RawRing)
    ->ArgNames({"item", "ring"})
    ->Args({64, 1 << 20})
    ->Args({1 << 20, 8 << 20})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// 1 MiB bytes items through a Queue (range(0): ring bytes; 0: the default ring).
void BM_Queue1MiB(benchmark::State& state) {
  const auto ring = state.range(0) != 0 ? static_cast<std::size_t>(state.range(0)) : mpc::kDefaultQueueRingBytes;
  constexpr int kItems = 2000;
  for (auto _ : state) {
    mpc::Queue q(0, ring);
    auto [go_r, go_w] = mpc::Pipe(false);
    mpc::Process producer([&] {
      const mpc::Value item = mpc::Value::bytes(std::string(kMiB, 'm'));
      (void)go_r.recv_bytes();
      for (int i = 0; i < kItems; ++i) q.put(item);
    });
    producer.start();
    auto t0 = Clock::now();
    go_w.send_bytes("go");
    std::size_t total = 0;
    for (int i = 0; i < kItems; ++i) total += q.get().data().size();
    const double dt = seconds_since(t0);
    producer.join();
    if (total != kItems * kMiB) state.SkipWithError("short items");
    set_rates(state, kItems, dt, kMiB);
  }
}
BENCHMARK(BM_Queue1MiB)
    ->ArgName("ring")
    ->Arg(0)
    ->Arg(16 << 20)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// 4 producer processes and 4 consumer processes (this one and 3 children), int items.
void BM_Queue4x4(benchmark::State& state) {
  constexpr int kSides = 4, kPerProducer = 250'000;
  for (auto _ : state) {
    mpc::Queue q;
    mpc::Event go;
    std::vector<mpc::Process> ps;
    for (int p = 0; p < kSides; ++p) {
      ps.emplace_back([&] {
        go.wait();
        for (int i = 0; i < kPerProducer; ++i) q.put(mpc::Value::integer(i));
      });
    }
    for (int c = 0; c < kSides - 1; ++c) {
      ps.emplace_back([&] {
        go.wait();
        for (int i = 0; i < kPerProducer; ++i) benchmark::DoNotOptimize(q.get());
      });
    }
    for (auto& p : ps) p.start();
    auto t0 = Clock::now();
    go.set();
    for (int i = 0; i < kPerProducer; ++i) benchmark::DoNotOptimize(q.get());
    for (auto& p : ps) p.join();
    const double dt = seconds_since(t0);
    set_rates(state, static_cast<double>(kSides) * kPerProducer, dt, 8);
  }
}
BENCHMARK(BM_Queue4x4)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// BM_Queue1MiB once more with glibc's malloc told to keep freed memory (mmap threshold 64 MiB,
// no trimming): a check that fresh buffers (page faults, munmap) are not what a 1 MiB item
// costs. They were, when every item got a fresh pickle buffer and reassembly buffer; now the
// only fresh one is the bytes value returned, and the two runs read alike. Registered last:
// mallopt() applies to the rest of this process and to children forked after it.
void BM_Queue1MiBWarmMalloc(benchmark::State& state) {
  static const bool tuned = [] {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
    return true;
  }();
  (void)tuned;
  BM_Queue1MiB(state);
}
BENCHMARK(BM_Queue1MiBWarmMalloc)
    ->ArgName("ring")
    ->Arg(0)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
