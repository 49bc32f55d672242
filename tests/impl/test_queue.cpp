// mpc::Queue, JoinableQueue and SimpleQueue across fork()ed processes.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/queue.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using mpc::Value;

namespace {

using mpc_test::Clock;
using mpc_test::message_of;
using mpc_test::seconds_since;

Value payload(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint64_t x = seed;
  for (auto& c : s) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>(x >> 56);
  }
  return Value::bytes(std::move(s));
}

std::int64_t as_int(const Value& v) { return v.to_int64().value(); }

std::set<std::string> dev_shm_entries() {
  std::set<std::string> out;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d)) out.insert(e->d_name);
    ::closedir(d);
  }
  return out;
}

int mapping_count() {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

}  // namespace

TEST(Queue, NewQueueIsEmptyAndNotFull) {
  mpc::Queue q(6);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 0);
  EXPECT_EQ(q.maxsize(), 6);
}

TEST(Queue, ItemsComeOutInTheOrderTheyWentIn) {
  mpc::Queue q;
  for (int i = 0; i < 100; ++i) q.put(Value::integer(i));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(as_int(q.get()), i);
}

TEST(Queue, AnItemIsVisibleAsSoonAsPutReturns) {
  mpc::Queue q;
  q.put(Value::str("now"));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.qsize(), 1);
  EXPECT_EQ(q.get_nowait().data(), "now");
}

TEST(Queue, QsizeTracksPutsAndGets) {
  mpc::Queue q;
  EXPECT_EQ(q.qsize(), 0);
  q.put(Value::integer(1));
  EXPECT_EQ(q.qsize(), 1);
  q.put(Value::integer(2));
  EXPECT_EQ(q.qsize(), 2);
  (void)q.get();
  EXPECT_EQ(q.qsize(), 1);
  (void)q.get();
  EXPECT_EQ(q.qsize(), 0);
}

TEST(Queue, AFullQueueRaisesFullAtOnceWithoutBlocking) {
  mpc::Queue q(6);
  q.put(Value::integer(1));
  q.put(Value::integer(2), true);
  q.put(Value::integer(3), true, std::nullopt);
  q.put(Value::integer(4), false);
  q.put(Value::integer(5), false, std::nullopt);
  q.put_nowait(Value::integer(6));
  EXPECT_FALSE(q.empty());
  EXPECT_TRUE(q.full());
  auto t0 = Clock::now();
  EXPECT_THROW(q.put(Value::integer(7), false), mpc::QueueFull);
  EXPECT_THROW(q.put(Value::integer(7), false, 5.0), mpc::QueueFull);  // timeout ignored
  EXPECT_THROW(q.put_nowait(Value::integer(7)), mpc::QueueFull);
  EXPECT_THROW(q.put(Value::integer(7), true, -1.0), mpc::QueueFull);  // negative = 0
  EXPECT_LT(seconds_since(t0), 0.1);
  EXPECT_EQ(q.qsize(), 6);
}

TEST(Queue, AFullQueueRaisesFullAfterTheTimeout) {
  mpc::Queue q(1);
  q.put(Value::integer(1));
  auto t0 = Clock::now();
  EXPECT_THROW(q.put(Value::integer(2), true, 0.2), mpc::QueueFull);
  double dt = seconds_since(t0);
  EXPECT_GE(dt, 0.2);
  EXPECT_LT(dt, 2.0);
  EXPECT_FALSE(q.try_put(Value::integer(2), 0.0));
}

TEST(Queue, AnEmptyQueueRaisesEmptyAtOnceWithoutBlocking) {
  mpc::Queue q;
  auto t0 = Clock::now();
  EXPECT_THROW((void)q.get(false), mpc::QueueEmpty);
  EXPECT_THROW((void)q.get(false, 5.0), mpc::QueueEmpty);  // timeout ignored
  EXPECT_THROW((void)q.get_nowait(), mpc::QueueEmpty);
  EXPECT_THROW((void)q.get(true, -1.0), mpc::QueueEmpty);  // negative = 0
  EXPECT_LT(seconds_since(t0), 0.1);
  EXPECT_FALSE(q.try_get().has_value());
}

TEST(Queue, AnEmptyQueueRaisesEmptyAfterTheTimeout) {
  mpc::Queue q;
  auto t0 = Clock::now();
  EXPECT_THROW((void)q.get(true, 0.2), mpc::QueueEmpty);
  double dt = seconds_since(t0);
  EXPECT_GE(dt, 0.2);
  EXPECT_LT(dt, 2.0);
  t0 = Clock::now();
  EXPECT_FALSE(q.try_get(0.1).has_value());
  EXPECT_GE(seconds_since(t0), 0.1);
}

TEST(Queue, GetBlocksUntilAnotherProcessPuts) {
  mpc::Queue q;
  mpc::Process p([&] {
    std::this_thread::sleep_for(300ms);
    q.put(Value::str("late"));
  });
  p.start();
  auto t0 = Clock::now();
  Value v = q.get(true, 10.0);
  double dt = seconds_since(t0);
  EXPECT_EQ(v.data(), "late");
  EXPECT_GE(dt, 0.25);
  EXPECT_LT(dt, 5.0);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Queue, ItemsPutByAChildArriveInOrderAndThenTheQueueIsEmpty) {
  mpc::Queue q;
  mpc::Process p([&] {
    for (int i = 2; i <= 5; ++i) q.put(Value::integer(i));
  });
  p.start();
  EXPECT_EQ(as_int(q.get(true, std::nullopt)), 2);
  EXPECT_EQ(as_int(q.get(true)), 3);
  EXPECT_EQ(as_int(q.get(true, 1.0)), 4);
  p.join();
  EXPECT_EQ(as_int(q.get_nowait()), 5);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, AChildDrainingAFullQueueMakesItEmptyForTheParent) {
  mpc::Queue q(6);
  for (int i = 0; i < 6; ++i) q.put(Value::integer(i));
  mpc::Process p([&] {
    for (int i = 0; i < 6; ++i) {
      if (as_int(q.get()) != i) return 1;
    }
    return 0;
  });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 0);
}

TEST(Queue, ParentAndChildItemsAreBothDeliveredAfterFork) {
  // CPython's test_fork: the parent put items before forking; the child puts more.
  mpc::Queue q;
  for (int i = 0; i < 10; ++i) q.put(Value::integer(i));
  mpc::Process p([&] {
    for (int i = 10; i < 20; ++i) q.put(Value::integer(i));
  });
  p.start();
  p.join();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(as_int(q.get(true, 5.0)), i);
  EXPECT_THROW((void)q.get(false), mpc::QueueEmpty);
}

TEST(Queue, ManyProducersLoseNothingAndKeepTheirOwnOrder) {
  constexpr int kProducers = 4;
  constexpr int kItems = 5000;
  mpc::Queue q(0, 64 * 1024);  // a small ring so that producers often wait for room
  std::vector<mpc::Process> ps;
  for (int p = 0; p < kProducers; ++p) {
    ps.emplace_back([&q, p] {
      for (int i = 0; i < kItems; ++i) q.put(Value::tuple({Value::integer(p), Value::integer(i)}));
    });
    ps.back().start();
  }
  std::vector<int> next(kProducers, 0);
  for (int n = 0; n < kProducers * kItems; ++n) {
    Value v = q.get(true, 10.0);
    auto p = as_int(v.at(0));
    auto i = as_int(v.at(1));
    ASSERT_EQ(i, next[p]) << "producer " << p;
    ++next[p];
  }
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.qsize(), 0);
}

TEST(Queue, ManyProducersAndManyConsumersDeliverEveryItemExactlyOnce) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr int kItems = 3000;
  mpc::Queue work(0, 32 * 1024);
  mpc::Queue results;
  std::vector<mpc::Process> ps;
  for (int c = 0; c < kConsumers; ++c) {
    ps.emplace_back([&] {
      std::int64_t sum = 0, count = 0;
      for (;;) {
        Value v = work.get();
        if (v.is(mpc::Kind::None)) break;
        sum += as_int(v);
        ++count;
      }
      results.put(Value::tuple({Value::integer(count), Value::integer(sum)}));
    });
    ps.back().start();
  }
  for (int p = 0; p < kProducers; ++p) {
    ps.emplace_back([&work, p] {
      for (int i = 0; i < kItems; ++i) work.put(Value::integer(p * kItems + i));
    });
    ps.back().start();
  }
  for (int p = kConsumers; p < kConsumers + kProducers; ++p) ps[p].join();
  for (int c = 0; c < kConsumers; ++c) work.put(Value::none());
  std::int64_t count = 0, sum = 0;
  for (int c = 0; c < kConsumers; ++c) {
    Value r = results.get(true, 10.0);
    count += as_int(r.at(0));
    sum += as_int(r.at(1));
  }
  const std::int64_t n = kProducers * kItems;
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
  for (auto& p : ps) p.join();
}

TEST(Queue, ItemsLargerThanTheRingAreStreamedAndArriveIntact) {
  mpc::Queue q(0, 16 * 1024);
  Value big = payload(1 << 20, 1);
  mpc::Process p([&] {
    q.put(Value::integer(1));
    q.put(big);
    q.put(Value::integer(2));
  });
  p.start();
  EXPECT_EQ(as_int(q.get(true, 10.0)), 1);
  EXPECT_TRUE(mpc::equal(q.get(true, 10.0), big));
  EXPECT_EQ(as_int(q.get(true, 10.0)), 2);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Queue, PutOfALargeItemDoesNotBlockWithoutAReader) {
  // As in CPython, put() hands what does not fit to a feeder thread and returns.
  mpc::Queue q(0, 16 * 1024);
  auto t0 = Clock::now();
  for (unsigned i = 0; i < 5; ++i) q.put(payload(200 * 1024, i));
  q.put(Value::integer(7));
  EXPECT_LT(seconds_since(t0), 1.0);
  EXPECT_EQ(q.qsize(), 6);
  for (unsigned i = 0; i < 5; ++i) EXPECT_TRUE(mpc::equal(q.get(true, 5.0), payload(200 * 1024, i)));
  EXPECT_EQ(as_int(q.get(true, 5.0)), 7);  // FIFO also across the feeder
}

TEST(Queue, ManySmallPutsWithoutAReaderReturnPromptly) {
  // The ring (16 KiB) holds ~1000 of these; the rest waits in this process, as in CPython.
  mpc::Queue q(0, 16 * 1024);
  auto t0 = Clock::now();
  for (int i = 0; i < 20000; ++i) q.put(Value::integer(i));
  EXPECT_LT(seconds_since(t0), 1.0);
  EXPECT_EQ(q.qsize(), 20000);
  mpc::Process consumer([&] {
    for (int i = 0; i < 20000; ++i) {
      if (as_int(q.get(true, 10.0)) != i) return 1;
    }
    return 0;
  });
  consumer.start();
  consumer.join(30.0);
  EXPECT_EQ(consumer.exitcode(), 0);
}

TEST(Queue, AFastProducerAndAnIrregularConsumerLoseNothingAndKeepOrder) {
  // Exercises the switches between writing straight into the ring, waiting for room, handing
  // items to the feeder and throttling, with a consumer that keeps pausing.
  mpc::Queue q(0, 8 * 1024);
  constexpr int kItems = 30000;
  mpc::Process producer([&] {
    for (int i = 0; i < kItems; ++i) q.put(Value::integer(i));
  });
  producer.start();
  for (int i = 0; i < kItems; ++i) {
    if (i % 5000 == 0) std::this_thread::sleep_for(30ms);
    ASSERT_EQ(as_int(q.get(true, 10.0)), i);
  }
  producer.join(10.0);
  EXPECT_EQ(producer.exitcode(), 0);
  EXPECT_EQ(q.qsize(), 0);
}

TEST(Queue, LargeAndSmallItemsFromSeveralProducersAllArriveIntact) {
  mpc::Queue q(0, 32 * 1024);
  constexpr int kProducers = 3;
  std::vector<mpc::Process> ps;
  for (int p = 0; p < kProducers; ++p) {
    ps.emplace_back([&q, p] {
      for (int i = 0; i < 20; ++i) {
        q.put(Value::tuple({Value::integer(p), Value::integer(i), payload(i % 3 == 0 ? 100000 : 100, p * 100 + i)}));
      }
    });
    ps.back().start();
  }
  std::vector<int> next(kProducers, 0);
  for (int n = 0; n < kProducers * 20; ++n) {
    Value v = q.get(true, 20.0);
    auto p = as_int(v.at(0));
    auto i = as_int(v.at(1));
    ASSERT_EQ(i, next[p]);
    ++next[p];
    ASSERT_TRUE(mpc::equal(v.at(2), payload(i % 3 == 0 ? 100000 : 100, static_cast<unsigned>(p * 100 + i))));
  }
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
}

// Large bytes items are written as pickle head, payload and tail straight from the value, and
// read with the payload copied straight into the returned bytes: sizes on either side of the
// 64 KiB threshold (below it the item is pickled whole), of the largest whole record of a
// 256 KiB ring (131,055 payload bytes: 8-byte record header, 7-byte head, 2-byte tail, in
// 131,072 bytes), and larger than the ring (streamed in chunks), among other items.
TEST(Queue, BytesItemsAroundThePieceBoundariesArriveIntactAmongOtherItems) {
  const std::vector<std::size_t> sizes = {65535,  65536,  65537,  131054,  131055,
                                          131056, 131057, 262144, 1 << 20, 3 << 20};
  auto items = [&] {
    std::vector<Value> out;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      out.push_back(payload(sizes[i], static_cast<unsigned>(i)));
      out.push_back(Value::integer(static_cast<std::int64_t>(i)));
      out.push_back(Value::tuple({payload(70000, 100 + static_cast<unsigned>(i))}));
      out.push_back(Value::bytearray(std::string(70000 + i, 'a')));
    }
    return out;
  };
  mpc::Queue q(0, 256 * 1024);
  mpc::Process p([&] {
    for (const Value& v : items()) q.put(v);
  });
  p.start();
  for (const Value& want : items()) {
    Value got = q.get(true, 20.0);
    ASSERT_EQ(got.kind(), want.kind());
    ASSERT_TRUE(mpc::equal(got, want));
  }
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  // The same from this process, with nobody reading until every put returned: the items wait
  // with the feeder, which writes the payloads from the values it keeps.
  for (const Value& v : items()) q.put(v);
  for (const Value& want : items()) ASSERT_TRUE(mpc::equal(q.get(true, 20.0), want));
  EXPECT_TRUE(q.empty());
}

TEST(SimpleQueue, LargeBytesItemsArriveIntact) {
  mpc::SimpleQueue q(128 * 1024);
  mpc::Process p([&] {
    for (unsigned i = 0; i < 6; ++i) q.put(payload(60000 + 40000 * i, i));
  });
  p.start();
  for (unsigned i = 0; i < 6; ++i) ASSERT_TRUE(mpc::equal(q.get(), payload(60000 + 40000 * i, i)));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

// Several producer threads in each of two processes, two consumer threads: every large bytes
// item arrives once and intact, and each producer's items keep their order for each consumer.
TEST(Queue, LargeBytesItemsFromSeveralProducersReachSeveralConsumersOnceAndIntact) {
  constexpr int kProcesses = 2, kThreads = 2, kPer = 12;
  const auto size_of = [](int i) { return static_cast<std::size_t>(i % 3 == 0 ? 70000 : i % 3 == 1 ? 300000 : 8); };
  const auto item = [&](int producer, int i) {
    Value v = payload(size_of(i), static_cast<unsigned>(producer * 1000 + i));
    std::string s(v.data());
    s[0] = static_cast<char>(producer);
    s[1] = static_cast<char>(i);
    return Value::bytes(std::move(s));
  };
  mpc::Queue q(0, 128 * 1024);
  std::vector<mpc::Process> ps;
  for (int p = 0; p < kProcesses; ++p) {
    ps.emplace_back([&, p] {
      std::vector<std::thread> ts;
      for (int t = 0; t < kThreads; ++t) {
        ts.emplace_back([&, t] {
          for (int i = 0; i < kPer; ++i) q.put(item(p * kThreads + t, i));
        });
      }
      for (auto& t : ts) t.join();
    });
    ps.back().start();
  }
  constexpr int kProducers = kProcesses * kThreads;
  std::vector<std::vector<int>> seen(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&, c] {
      std::vector<int> last(kProducers, -1);
      for (int n = 0; n < kProducers * kPer / 2; ++n) {
        auto got = q.try_get(20.0);
        if (!got) {
          errors[c] = "nothing for 20 s";
          return;
        }
        const Value& v = *got;
        const std::string_view d = v.data();
        const int producer = d[0], i = d[1];
        if (producer < 0 || producer >= kProducers || i <= last[producer] || !mpc::equal(v, item(producer, i))) {
          errors[c] = "bad or out-of-order item";
          return;
        }
        last[producer] = i;
        seen[c].push_back(producer * kPer + i);
      }
    });
  }
  for (auto& t : consumers) t.join();
  if (!errors[0].empty() || !errors[1].empty()) {
    while (q.try_get(2.0)) {  // let the producers' feeders finish, so that they exit
    }
  }
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  std::set<int> all(seen[0].begin(), seen[0].end());
  all.insert(seen[1].begin(), seen[1].end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kProducers * kPer));
}

TEST(Queue, AChildExitsOnlyAfterItsFeederHasWrittenEverything) {
  // CPython's G1: a producer cannot exit while its queued data is not in the pipe yet.
  mpc::Queue q(0, 16 * 1024);
  Value big = payload(256 * 1024, 9);
  mpc::Process p([&] { q.put(big); });
  p.start();
  p.join(0.5);
  EXPECT_TRUE(p.is_alive());
  EXPECT_TRUE(mpc::equal(q.get(true, 10.0), big));
  p.join(10.0);
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Queue, CancelJoinThreadLetsAChildExitWithUnwrittenItems) {
  mpc::Queue q(0, 16 * 1024);
  mpc::Process p([&] {
    q.cancel_join_thread();
    q.put(payload(1 << 20, 3));
  });
  p.start();
  p.join(5.0);
  EXPECT_EQ(p.exitcode(), 0);
  // The partial item is dropped; the queue keeps working.
  EXPECT_FALSE(q.try_get(0.3).has_value());
  q.put(Value::integer(5));
  EXPECT_EQ(as_int(q.get(true, 2.0)), 5);
}

TEST(Queue, AKilledStreamingWriterDoesNotWedgeTheQueue) {
  mpc::Queue q(0, 16 * 1024);
  mpc::Process p([&] {
    q.put(payload(1 << 20, 4));
    std::this_thread::sleep_for(60s);
  });
  p.start();
  std::this_thread::sleep_for(200ms);  // the child's feeder is now blocked mid-item
  p.kill();
  p.join();
  EXPECT_FALSE(q.try_get(0.5).has_value());
  q.put(Value::integer(6));
  q.put(payload(100000, 6));
  EXPECT_EQ(as_int(q.get(true, 2.0)), 6);
  EXPECT_TRUE(mpc::equal(q.get(true, 5.0), payload(100000, 6)));
}

TEST(Queue, AReaderKilledInTheMiddleOfALargeItemDoesNotWedgeTheQueue) {
  // The reader dies while reassembling a 64 MiB item that streams through a 16 KiB ring; its
  // item is lost, the rest of that item's chunks are dropped, and the next item arrives.
  mpc::Queue q(0, 16 * 1024);
  mpc::Process reader([&] {
    (void)q.get();
    std::this_thread::sleep_for(60s);
  });
  reader.start();
  mpc::Process writer([&] {
    q.put(payload(64u << 20, 11));
    q.put(Value::integer(7));
  });
  writer.start();
  // put() counts the item once it is pickled; the stream starts right after.
  for (auto t0 = Clock::now(); q.qsize() == 0 && seconds_since(t0) < 20;) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  ::kill(*writer.pid(), SIGSTOP);  // hold the stream half-written
  reader.kill();
  reader.join();
  ::kill(*writer.pid(), SIGCONT);
  Value v = q.get(true, 20.0);
  if (v.is(mpc::Kind::Bytes)) {
    // Timing: the reader had not taken the item yet when it was killed. Still intact.
    EXPECT_TRUE(mpc::equal(v, payload(64u << 20, 11)));
    v = q.get(true, 20.0);
  }
  EXPECT_EQ(as_int(v), 7);
  writer.join(20.0);
  EXPECT_EQ(writer.exitcode(), 0);
  EXPECT_EQ(q.qsize(), 0);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, AProcessKilledWhileHammeringTheQueueDoesNotWedgeIt) {
  mpc::Queue q(0, 8 * 1024);
  std::vector<mpc::Process> ps;
  for (int k = 0; k < 2; ++k) {
    ps.emplace_back([&q] {
      for (std::int64_t i = 0;; ++i) {
        q.put(Value::integer(i));
        (void)q.try_get(0.0);
      }
    });
    ps.back().start();
  }
  std::this_thread::sleep_for(300ms);
  for (auto& p : ps) {
    p.kill();
    p.join();
    EXPECT_EQ(p.exitcode(), -SIGKILL);
  }
  while (q.try_get(0.0)) {
  }
  q.put(Value::str("alive"));
  EXPECT_EQ(q.get(true, 2.0).data(), "alive");
}

TEST(Queue, ClosedQueueRaisesValueErrorOnPutAndGet) {
  mpc::Queue q;
  q.close();
  EXPECT_TRUE(q.closed());
  std::string m = message_of<mpc::ValueError>([&] { q.put(Value::str("foo")); });
  EXPECT_NE(m.find("Queue <"), std::string::npos) << m;
  EXPECT_NE(m.find("is closed"), std::string::npos) << m;
  EXPECT_NE(message_of<mpc::ValueError>([&] { (void)q.get(); }).find("is closed"), std::string::npos);
  q.close();  // twice is fine
  q.join_thread();
  EXPECT_TRUE(q.empty());  // never used: like CPython 3.13
}

TEST(Queue, EmptyOnAClosedQueueThatWasUsedIsHandleIsClosed) {
  mpc::Queue q;
  q.put(Value::str("foo"));
  q.close();
  q.join_thread();
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)q.empty(); }), "handle is closed");
}

TEST(Queue, JoinThreadBeforeCloseIsAnAssertionError) {
  mpc::Queue q;
  EXPECT_THROW(q.join_thread(), mpc::AssertionError);
}

TEST(Queue, CloseAfterPuttingWakesAGetBlockedInAnotherThreadWithOSError) {
  mpc::Queue q;
  q.put(Value::integer(1));
  ASSERT_EQ(q.get().to_int64(), 1);
  std::jthread t([&] {  // joins on the way out even if a check throws
    std::this_thread::sleep_for(200ms);
    q.close();
  });
  auto t0 = Clock::now();
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)q.get(true, 10.0); }), "handle is closed");
  EXPECT_LT(seconds_since(t0), 5.0);
  t.join();
}

TEST(Queue, CloseWithoutPuttingLeavesAGetBlockedInAnotherThreadToItsTimeout) {
  mpc::Queue q;
  std::jthread t([&] {  // joins on the way out even if a check throws
    std::this_thread::sleep_for(100ms);
    q.close();
  });
  auto t0 = Clock::now();
  EXPECT_THROW((void)q.get(true, 0.6), mpc::QueueEmpty);
  EXPECT_GE(seconds_since(t0), 0.6);
  t.join();
}

TEST(SimpleQueue, CloseWakesAGetBlockedInAnotherThreadWithEOFError) {
  mpc::SimpleQueue q;
  std::jthread t([&] {  // joins on the way out even if a check throws
    std::this_thread::sleep_for(200ms);
    q.close();
  });
  auto t0 = Clock::now();
  EXPECT_THROW((void)q.get(), mpc::EOFError);
  EXPECT_LT(seconds_since(t0), 5.0);
  t.join();
}

TEST(Queue, AnUnpicklableItemRaisesInPutAndLeavesTheQueueUsable) {
  mpc::Queue q(1);
  EXPECT_THROW(q.put(Value::unpicklable()), mpc::TypeError);
  EXPECT_EQ(q.qsize(), 0);
  q.put(Value::boolean(true), true, 1.0);
  EXPECT_TRUE(q.get().as_bool());
  EXPECT_TRUE(q.empty());
}

TEST(Queue, QueuesLeaveNothingInDevShmAndUnmapWhenDestroyed) {
  auto before = dev_shm_entries();
  int maps_before = mapping_count();
  {
    mpc::Queue a;
    mpc::JoinableQueue b;
    mpc::SimpleQueue c;
    a.put(Value::integer(1));
    EXPECT_EQ(dev_shm_entries(), before);
    EXPECT_GT(mapping_count(), maps_before);
  }
  EXPECT_EQ(dev_shm_entries(), before);
  EXPECT_LE(mapping_count(), maps_before);
}

TEST(Queue, AMovedQueueKeepsWorking) {
  mpc::Queue a;
  a.put(Value::integer(1));
  mpc::Queue b = std::move(a);
  b.put(Value::integer(2));
  EXPECT_EQ(as_int(b.get()), 1);
  EXPECT_EQ(as_int(b.get()), 2);
}

// ---- JoinableQueue ----------------------------------------------------------------------------

TEST(JoinableQueue, JoinReturnsOnceWorkersFinishedEveryTask) {
  mpc::JoinableQueue q;
  mpc::Queue done;
  std::vector<mpc::Process> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (;;) {
        Value v = q.get();
        if (v.is(mpc::Kind::None)) {
          q.task_done();
          return;
        }
        std::this_thread::sleep_for(10ms);
        done.put(v);
        q.task_done();
      }
    });
    workers.back().start();
  }
  for (int i = 0; i < 10; ++i) q.put(Value::integer(i));
  q.join();
  EXPECT_EQ(done.qsize(), 10);
  for (int w = 0; w < 4; ++w) q.put(Value::none());
  q.join();
  for (auto& w : workers) {
    w.join();
    EXPECT_EQ(w.exitcode(), 0);
  }
}

TEST(JoinableQueue, TaskDoneTooManyTimesIsAValueError) {
  mpc::JoinableQueue q;
  q.put(Value::integer(1));
  (void)q.get();
  q.task_done();
  EXPECT_EQ(message_of<mpc::ValueError>([&] { q.task_done(); }), "task_done() called too many times");
}

TEST(JoinableQueue, TryJoinTimesOutWhileTasksAreUnfinished) {
  mpc::JoinableQueue q;
  q.put(Value::integer(1));
  auto t0 = Clock::now();
  EXPECT_FALSE(q.try_join(0.2));
  EXPECT_GE(seconds_since(t0), 0.2);
  (void)q.get();
  q.task_done();
  EXPECT_TRUE(q.try_join(0.0));
}

TEST(JoinableQueue, ClosedJoinableQueueRaisesValueError) {
  mpc::JoinableQueue q;
  q.close();
  std::string m = message_of<mpc::ValueError>([&] { q.put(Value::integer(1)); });
  EXPECT_NE(m.find("JoinableQueue"), std::string::npos) << m;
  EXPECT_NE(m.find("is closed"), std::string::npos) << m;
}

// ---- SimpleQueue ------------------------------------------------------------------------------

TEST(SimpleQueue, PutIsSynchronousSoAChildSeesItsOwnItemAtOnce) {
  // CPython's TestSimpleQueue.test_empty.
  mpc::SimpleQueue q;
  EXPECT_TRUE(q.empty());
  mpc::Process p([&] {
    q.put(Value::boolean(q.empty()));
    q.put(Value::boolean(q.empty()));
  });
  p.start();
  p.join();
  EXPECT_FALSE(q.empty());
  EXPECT_TRUE(q.get().as_bool());
  EXPECT_FALSE(q.get().as_bool());
  EXPECT_TRUE(q.empty());
}

TEST(SimpleQueue, LargeItemsStreamThroughASmallRing) {
  mpc::SimpleQueue q(8 * 1024);
  Value big = payload(300000, 5);
  mpc::Process p([&] { q.put(big); });
  p.start();
  EXPECT_TRUE(mpc::equal(q.get(), big));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(SimpleQueue, CloseTwiceIsFineAndThenEverythingIsHandleIsClosed) {
  mpc::SimpleQueue q;
  q.close();
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)q.empty(); }), "handle is closed");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)q.get(); }), "handle is closed");
  EXPECT_EQ(message_of<mpc::OSError>([&] { q.put(Value::none()); }), "handle is closed");
}

TEST(SimpleQueue, TryGetTimesOut) {
  mpc::SimpleQueue q;
  auto t0 = Clock::now();
  EXPECT_FALSE(q.try_get(0.2).has_value());
  double dt = seconds_since(t0);
  EXPECT_GE(dt, 0.2);
  EXPECT_LT(dt, 2.0);
}
