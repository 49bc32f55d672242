"""CPython's multiprocessing measured the way benchmarks/bench_ipc.cpp measures mpc.

Prints one JSON object (only the round trips and the semaphore handoff with the argument
"roundtrip"). Same shapes as the C++ program: a fork()ed producer and a consumer
that starts timing on a "go" message; round trips of an 8-byte message to an echo child
(median and p99 of individual round trips); 1 MiB messages in batches of 16 then a 1-byte ack.
"""
import json
import multiprocessing as mp
import sys
import time
from multiprocessing.connection import Pipe

QUEUE_ITEMS = 200_000
ROUND_TRIPS = 20_000
BATCH = 16
MIB = 1 << 20


def _produce(q, go, n):
    go.recv_bytes()
    for i in range(n):
        q.put(i)


def queue_throughput(make):
    q = make()
    go_r, go_w = Pipe(False)
    p = mp.Process(target=_produce, args=(q, go_r, QUEUE_ITEMS))
    p.start()
    go_w.send_bytes(b"go")
    t0 = time.perf_counter()
    for i in range(QUEUE_ITEMS):
        if q.get() != i:
            raise SystemExit("out of order")
    dt = time.perf_counter() - t0
    p.join()
    return QUEUE_ITEMS / dt


def _echo(rd, wr, *parent_ends):
    for c in parent_ends:  # inherited by fork: close them, or EOF never comes
        c.close()
    try:
        while True:
            wr.send_bytes(rd.recv_bytes())
    except EOFError:
        pass


def round_trip(duplex):
    if duplex:
        mine, theirs = Pipe(True)
        rd = wr = mine
        peer_rd = peer_wr = theirs
    else:
        peer_rd, wr = Pipe(False)
        rd, peer_wr = Pipe(False)
    parent_ends = (rd,) if duplex else (rd, wr)
    p = mp.Process(target=_echo, args=(peer_rd, peer_wr) + parent_ends)
    p.start()
    peer_rd.close()
    if not duplex:
        peer_wr.close()
    msg = b"x" * 8
    for _ in range(1000):
        wr.send_bytes(msg)
        rd.recv_bytes()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(ROUND_TRIPS):
        t0 = clock()
        wr.send_bytes(msg)
        rd.recv_bytes()
        samples.append(clock() - t0)
    wr.close()
    rd.close()
    p.join()
    samples.sort()
    return samples[len(samples) // 2] / 1000.0, samples[len(samples) * 99 // 100] / 1000.0


def _sink(rd, ack, *parent_ends):
    for c in parent_ends:
        c.close()
    try:
        while True:
            for _ in range(BATCH):
                rd.recv_bytes()
            ack.send_bytes(b"k")
    except EOFError:
        pass


def bandwidth():
    rd, wr = Pipe(False)
    ack_r, ack_w = Pipe(False)
    p = mp.Process(target=_sink, args=(rd, ack_w, wr, ack_r))
    p.start()
    rd.close()
    ack_w.close()
    msg = b"m" * MIB
    for _ in range(BATCH):  # warm up
        wr.send_bytes(msg)
    ack_r.recv_bytes()
    rounds = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        for _ in range(BATCH):
            wr.send_bytes(msg)
        ack_r.recv_bytes()
        rounds += 1
    dt = time.perf_counter() - t0
    wr.close()
    p.join()
    return rounds * BATCH * MIB / dt


def get_timeout_overshoot():
    q = mp.Queue()
    worst = total = 0.0
    for _ in range(5):
        t0 = time.monotonic()
        try:
            q.get(True, 0.2)
        except Exception:
            pass
        dt = time.monotonic() - t0 - 0.2
        worst = max(worst, dt)
        total += dt
    return total / 5 * 1e6, worst * 1e6


LOCK_PAIRS = 1_000_000
HANDOFFS = 20_000
INCREMENTS = 100_000
BARRIER_ROUNDS = 5_000


def lock_uncontended():
    lock = mp.Lock()
    acquire, release = lock.acquire, lock.release
    t0 = time.perf_counter()
    for _ in range(LOCK_PAIRS):
        acquire()
        release()
    return (time.perf_counter() - t0) / LOCK_PAIRS * 1e9


def _handoff_peer(ping, pong, n):
    for _ in range(n):
        ping.acquire()
        pong.release()


def semaphore_handoff():
    ping, pong = mp.Semaphore(0), mp.Semaphore(0)
    p = mp.Process(target=_handoff_peer, args=(ping, pong, HANDOFFS + 1000))
    p.start()
    for _ in range(1000):
        ping.release()
        pong.acquire()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(HANDOFFS):
        t0 = clock()
        ping.release()
        pong.acquire()
        samples.append(clock() - t0)
    p.join()
    samples.sort()
    return samples[len(samples) // 2] / 1000.0, samples[len(samples) * 99 // 100] / 1000.0


def _increment(v, go, n):
    go.wait()
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def value_increment():
    v = mp.Value("i", 0)
    go = mp.Event()
    p = mp.Process(target=_increment, args=(v, go, INCREMENTS))
    p.start()
    t0 = time.perf_counter()
    go.set()
    _increment(v, go, INCREMENTS)
    p.join()
    dt = time.perf_counter() - t0
    if v.value != 2 * INCREMENTS:
        raise SystemExit("lost increments")
    return 2 * INCREMENTS / dt


def _barrier_party(b, n):
    for _ in range(n):
        b.wait()


def barrier_round():
    b = mp.Barrier(2)
    p = mp.Process(target=_barrier_party, args=(b, BARRIER_ROUNDS + 100))
    p.start()
    _barrier_party(b, 100)
    t0 = time.perf_counter()
    _barrier_party(b, BARRIER_ROUNDS)
    dt = time.perf_counter() - t0
    p.join()
    return dt / BARRIER_ROUNDS * 1e6


def main():
    mp.set_start_method("fork")
    out = {"python": sys.version.split()[0]}
    if sys.argv[1:] == ["roundtrip"]:
        out["rt_simplex_median_us"], out["rt_simplex_p99_us"] = round_trip(False)
        out["rt_duplex_median_us"], out["rt_duplex_p99_us"] = round_trip(True)
        out["handoff_median_us"], out["handoff_p99_us"] = semaphore_handoff()
        print(json.dumps(out))
        return
    out["queue_items_per_s"] = queue_throughput(mp.Queue)
    out["simplequeue_items_per_s"] = queue_throughput(mp.SimpleQueue)
    out["rt_simplex_median_us"], out["rt_simplex_p99_us"] = round_trip(False)
    out["rt_duplex_median_us"], out["rt_duplex_p99_us"] = round_trip(True)
    out["bw_bytes_per_s"] = bandwidth()
    out["get_timeout_overshoot_us"], out["get_timeout_worst_overshoot_us"] = get_timeout_overshoot()
    out["lock_pair_ns"] = lock_uncontended()
    out["handoff_median_us"], out["handoff_p99_us"] = semaphore_handoff()
    out["value_increments_per_s"] = value_increment()
    out["barrier_round_us"] = barrier_round()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
