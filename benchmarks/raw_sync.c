/* See raw_sync.h. */
#define _GNU_SOURCE
#include "raw_sync.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void* shared(size_t bytes) {
  void* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void fwait(_Atomic uint32_t* w, uint32_t expected) {
  syscall(SYS_futex, (uint32_t*)w, FUTEX_WAIT, expected, NULL, NULL, 0);
}
static void fwake(_Atomic uint32_t* w) { syscall(SYS_futex, (uint32_t*)w, FUTEX_WAKE, 1, NULL, NULL, 0); }

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int raw_pshared_mutex_loop(long n) {
  pthread_mutex_t* m = shared(sizeof *m);
  if (!m) return -1;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
  for (long i = 0; i < n; ++i) {
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
  }
  pthread_mutex_destroy(m);
  munmap(m, sizeof *m);
  return 0;
}

/* Two turn words: the parent sets ping to 1 and wakes it; the child waits for 1, clears it,
 * sets pong and wakes it. The plainest futex handoff: one wake and (usually) one wait per
 * direction, no spinning. */
int raw_futex_ping_pong(long n, double* ns_out) {
  _Atomic uint32_t* w = shared(4096);
  if (!w) return -1;
  _Atomic uint32_t* ping = &w[0];
  _Atomic uint32_t* pong = &w[16];
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    for (long i = 0; i < n; ++i) {
      while (atomic_load(ping) == 0) fwait(ping, 0);
      atomic_store(ping, 0);
      atomic_store(pong, 1);
      fwake(pong);
    }
    _exit(0);
  }
  for (long i = 0; i < n; ++i) {
    double t0 = ns_out ? now_ns() : 0;
    atomic_store(ping, 1);
    fwake(ping);
    while (atomic_load(pong) == 0) fwait(pong, 0);
    atomic_store(pong, 0);
    if (ns_out) ns_out[i] = now_ns() - t0;
  }
  int st = 0;
  waitpid(pid, &st, 0);
  munmap((void*)w, 4096);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Spins (pausing) up to about the budget mpc's waiters use before sleeping; returns whether
 * *w != v by then. */
static int spin_while_equal(_Atomic uint32_t* w, uint32_t v) {
  for (int i = 0; i < 2000; ++i) {
    if (atomic_load_explicit(w, memory_order_acquire) != v) return 1;
    __builtin_ia32_pause();
  }
  return 0;
}

/* Lamport ring of fixed-size slots, each side caching the other's position (as mpc's Queue
 * does). A side that finds the ring empty/full spins briefly, then announces itself in
 * `*_sleeping` and sleeps on the other side's position; the other side makes a futex call only
 * when it finds that announcement. */
struct ring {
  _Alignas(64) _Atomic uint32_t tail;              /* items published (mod 2^32), written by the producer */
  _Alignas(64) _Atomic uint32_t head;              /* items consumed, written by the consumer */
  _Alignas(64) _Atomic uint32_t consumer_sleeping; /* set by the consumer, cleared by its waker */
  _Alignas(64) _Atomic uint32_t producer_sleeping;
  _Alignas(64) unsigned char data[];
};

/* Wakes the other side if it announced it sleeps; the flag is taken by the waker, so a side
 * that takes a while to wake up costs one wake-up, not one per item. */
static void wake_if_sleeping(_Atomic uint32_t* sleeping, _Atomic uint32_t* word) {
  atomic_thread_fence(memory_order_seq_cst); /* publish the position before looking */
  if (atomic_load_explicit(sleeping, memory_order_relaxed) && atomic_exchange(sleeping, 0)) fwake(word);
}

double raw_spsc_ring(long n, size_t item_size, size_t ring_bytes) {
  const uint32_t slots = (uint32_t)(ring_bytes / item_size);
  struct ring* r = shared(sizeof(struct ring) + ring_bytes);
  _Atomic uint32_t* go = shared(4096);
  if (!r || !go) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    unsigned char* item = malloc(item_size);
    memset(item, 'p', item_size);
    while (atomic_load(go) == 0) fwait(go, 0);
    uint32_t head_seen = 0; /* the producer's last look at head: reloaded only when full */
    for (long i = 0; i < n; ++i) {
      uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
      if (t - head_seen == slots) head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
      while (t - head_seen == slots) { /* full */
        if (!spin_while_equal(&r->head, head_seen)) {
          atomic_store(&r->producer_sleeping, 1);
          if (atomic_load(&r->head) == head_seen) fwait(&r->head, head_seen);
          atomic_store(&r->producer_sleeping, 0);
        }
        head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
      }
      memcpy(r->data + (size_t)(t % slots) * item_size, item, item_size);
      atomic_store_explicit(&r->tail, t + 1, memory_order_release);
      wake_if_sleeping(&r->consumer_sleeping, &r->tail);
    }
    free(item);
    _exit(0);
  }
  unsigned char* out = malloc(item_size);
  atomic_store(go, 1);
  fwake(go);
  double t0 = now_ns();
  uint32_t tail_seen = 0; /* the consumer's last look at tail: reloaded only when empty */
  for (long i = 0; i < n; ++i) {
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h == tail_seen) tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
    while (h == tail_seen) { /* empty */
      if (!spin_while_equal(&r->tail, h)) {
        atomic_store(&r->consumer_sleeping, 1);
        if (atomic_load(&r->tail) == h) fwait(&r->tail, h);
        atomic_store(&r->consumer_sleeping, 0);
      }
      tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
    }
    memcpy(out, r->data + (size_t)(h % slots) * item_size, item_size);
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    wake_if_sleeping(&r->producer_sleeping, &r->head);
  }
  double dt = (now_ns() - t0) / 1e9;
  int st = 0;
  waitpid(pid, &st, 0);
  const int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && out[0] == 'p';
  free(out);
  munmap(r, sizeof(struct ring) + ring_bytes);
  munmap((void*)go, 4096);
  return ok ? dt : -1;
}
