// Google Benchmark program for mpc's IPC classes, with a raw pipe(2) baseline in C.
//
// Every benchmark runs a real fork()ed peer process. Counters:
//   Queue*:            items_per_second (consumer side; the producer is another process)
//   *RoundTrip*:       median_us and p99_us of individual round trips of an 8-byte message
//   *Bandwidth1MiB*:   bytes_per_second for 1 MiB messages (batches of 16, then a 1-byte ack)
//   QueueGetTimeout:   overshoot_us of get(timeout=0.2) on an empty queue
// benchmarks/run.sh runs this and the CPython equivalents and prints the comparison.
#include <benchmark/benchmark.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "mpc/connection.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/queue.hpp"
#include "mpc/value.hpp"
#include "raw_pipe.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kSmallMessage = 8;
constexpr std::size_t kMiB = 1 << 20;
constexpr int kBatch = 16;
constexpr int kQueueItems = 2'000'000;
constexpr int kRoundTrips = 50'000;

void report_latency(benchmark::State& state, std::vector<double>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  state.counters["median_us"] = ns[ns.size() / 2] / 1000.0;
  state.counters["p99_us"] = ns[std::min(ns.size() - 1, ns.size() * 99 / 100)] / 1000.0;
}

// ---- Queue throughput -----------------------------------------------------------------------

void BM_QueueThroughput(benchmark::State& state) {
  mpc::Queue q;
  auto [go_r, go_w] = mpc::Pipe(false);
  const auto n = static_cast<std::int64_t>(state.max_iterations);
  mpc::Process producer([&] {
    (void)go_r.recv_bytes();  // start together with the timed loop
    for (std::int64_t i = 0; i < n; ++i) q.put(mpc::Value::integer(i));
  });
  producer.start();
  go_w.send_bytes("go");
  std::int64_t expect = 0;
  for (auto _ : state) {
    mpc::Value v = q.get();
    if (v.to_int64() != expect++) state.SkipWithError("out of order");
  }
  state.SetItemsProcessed(state.iterations());
  producer.join();
}
BENCHMARK(BM_QueueThroughput)->Iterations(kQueueItems)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_SimpleQueueThroughput(benchmark::State& state) {
  mpc::SimpleQueue q;
  auto [go_r, go_w] = mpc::Pipe(false);
  const auto n = static_cast<std::int64_t>(state.max_iterations);
  mpc::Process producer([&] {
    (void)go_r.recv_bytes();
    for (std::int64_t i = 0; i < n; ++i) q.put(mpc::Value::integer(i));
  });
  producer.start();
  go_w.send_bytes("go");
  for (auto _ : state) benchmark::DoNotOptimize(q.get());
  state.SetItemsProcessed(state.iterations());
  producer.join();
}
BENCHMARK(BM_SimpleQueueThroughput)->Iterations(kQueueItems)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_QueueGetTimeout(benchmark::State& state) {
  mpc::Queue q;
  double worst = 0, total = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto v = q.try_get(0.2);
    double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    benchmark::DoNotOptimize(v);
    worst = std::max(worst, dt - 0.2);
    total += dt - 0.2;
  }
  state.counters["overshoot_us"] = total / static_cast<double>(state.iterations()) * 1e6;
  state.counters["worst_overshoot_us"] = worst * 1e6;
}
BENCHMARK(BM_QueueGetTimeout)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- round trips ----------------------------------------------------------------------------

// Connection over two pipe(2) pairs (duplex = false, the same kernel object as the raw
// baseline) or over one socketpair (duplex = true, what Pipe() gives by default).
// sigpipe_ignored: SIGPIPE set to SIG_IGN first, as every CPython process has it; otherwise
// the default disposition, under which each pipe write also blocks and unblocks SIGPIPE.
void BM_ConnectionRoundTrip(benchmark::State& state) {
  const bool duplex = state.range(0) != 0;
  struct sigaction ign {
  }, old{};
  ign.sa_handler = state.range(1) != 0 ? SIG_IGN : SIG_DFL;
  sigaction(SIGPIPE, &ign, &old);
  mpc::Connection my_rd, my_wr, their_rd, their_wr;
  if (duplex) {
    auto [a, b] = mpc::Pipe(true);
    my_wr = std::move(a);
    their_rd = std::move(b);
  } else {
    auto [r1, w1] = mpc::Pipe(false);
    auto [r2, w2] = mpc::Pipe(false);
    my_wr = std::move(w1);
    their_rd = std::move(r1);
    their_wr = std::move(w2);
    my_rd = std::move(r2);
  }
  mpc::Connection& rd = duplex ? my_wr : my_rd;
  mpc::Connection& peer_wr = duplex ? their_rd : their_wr;
  mpc::Process echo([&] {
    my_wr.close();
    my_rd.close();
    try {
      for (;;) peer_wr.send_bytes(their_rd.recv_bytes());
    } catch (const mpc::EOFError&) {
    }
  });
  echo.start();
  their_rd.close();
  their_wr.close();
  const std::string msg(kSmallMessage, 'x');
  for (int i = 0; i < 1000; ++i) {  // warm up
    my_wr.send_bytes(msg);
    (void)rd.recv_bytes();
  }
  std::vector<double> ns;
  ns.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    auto t0 = Clock::now();
    my_wr.send_bytes(msg);
    std::string back = rd.recv_bytes();
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    benchmark::DoNotOptimize(back);
  }
  my_wr.close();
  my_rd.close();
  echo.join();
  sigaction(SIGPIPE, &old, nullptr);
  report_latency(state, ns);
}
BENCHMARK(BM_ConnectionRoundTrip)
    ->ArgNames({"duplex", "sigpipe_ignored"})
    // Not ignored first: once mpc has seen SIGPIPE ignored it stops checking (connection.hpp).
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Iterations(kRoundTrips)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_RawPipeRoundTrip(benchmark::State& state) {
  raw_peer peer{};
  if (raw_echo_start(&peer, kSmallMessage) != 0) {
    state.SkipWithError("fork failed");
    return;
  }
  char buf[kSmallMessage] = {'x'};
  for (int i = 0; i < 1000; ++i) raw_round_trip(&peer, buf, kSmallMessage);
  std::vector<double> ns;
  ns.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    auto t0 = Clock::now();
    if (raw_round_trip(&peer, buf, kSmallMessage) != 0) state.SkipWithError("raw round trip failed");
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  raw_stop(&peer);
  report_latency(state, ns);
}
BENCHMARK(BM_RawPipeRoundTrip)->Iterations(kRoundTrips)->UseRealTime()->Unit(benchmark::kMicrosecond);

// ---- 1 MiB bandwidth ------------------------------------------------------------------------

// recv_bytes() (a new string per message, as CPython's recv_bytes makes a new bytes) or
// recv_bytes_into() (one reused buffer, as the raw baseline) on the receiving side.
void BM_ConnectionBandwidth1MiB(benchmark::State& state) {
  const bool into = state.range(0) != 0;
  auto [r1, w1] = mpc::Pipe(false);
  auto [r2, w2] = mpc::Pipe(false);
  mpc::Process sink([&, into] {
    w1.close();
    r2.close();
    std::string buf(kMiB, '\0');
    try {
      for (;;) {
        for (int i = 0; i < kBatch; ++i) {
          if (into) {
            (void)r1.recv_bytes_into(std::span<char>(buf));
          } else {
            benchmark::DoNotOptimize(r1.recv_bytes());
          }
        }
        w2.send_bytes("k");
      }
    } catch (const mpc::EOFError&) {
    }
  });
  sink.start();
  r1.close();
  w2.close();
  const std::string msg(kMiB, 'm');
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) w1.send_bytes(msg);
    (void)r2.recv_bytes();
  }
  state.SetBytesProcessed(state.iterations() * kBatch * static_cast<std::int64_t>(kMiB));
  w1.close();
  sink.join();
}
BENCHMARK(BM_ConnectionBandwidth1MiB)
    ->ArgName("into")
    ->Arg(0)
    ->Arg(1)
    ->MinTime(1.0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_RawPipeBandwidth1MiB(benchmark::State& state) {
  raw_peer peer{};
  if (raw_sink_start(&peer, kMiB, kBatch) != 0) {
    state.SkipWithError("fork failed");
    return;
  }
  const std::string msg(kMiB, 'm');
  for (auto _ : state) {
    if (raw_send_batch(&peer, msg.data(), kMiB, kBatch) != 0) state.SkipWithError("raw send failed");
  }
  state.SetBytesProcessed(state.iterations() * kBatch * static_cast<std::int64_t>(kMiB));
  raw_stop(&peer);
}
BENCHMARK(BM_RawPipeBandwidth1MiB)->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
