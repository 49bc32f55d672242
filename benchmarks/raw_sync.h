/* The raw baselines of the synchronization and shared-memory queue benchmarks, in plain C:
 * a process-shared pthread mutex, a futex ping-pong between two processes, and a
 * single-producer single-consumer ring in shared memory that makes a futex call only when it
 * finds the ring empty (consumer) or full (producer). What mpc's Lock, Semaphore handoff and
 * Queue are measured against. */
#ifndef MPC_BENCH_RAW_SYNC_H
#define MPC_BENCH_RAW_SYNC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* n lock/unlock pairs of a PTHREAD_PROCESS_SHARED mutex in a shared mapping. 0 or -1. */
int raw_pshared_mutex_loop(long n);

/* A fork()ed peer answers each of n pings through two futex words; returns 0 or -1. The
 * nanoseconds of each round trip go to ns_out[0..n) when it is not NULL. */
int raw_futex_ping_pong(long n, double* ns_out);

/* A fork()ed producer writes n items of item_size bytes through an SPSC ring of ring_bytes
 * (a power of two, a multiple of item_size) that we consume (copying each item out).
 * Returns the seconds from the first to the last item, or -1. */
double raw_spsc_ring(long n, size_t item_size, size_t ring_bytes);

#ifdef __cplusplus
}
#endif

#endif
