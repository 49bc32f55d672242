/* The baseline: a raw pipe(2) ping-pong and a raw pipe(2) bulk transfer, in plain C, with a
 * fork()ed echo child. No framing, no allocation, no error classes: the floor any message
 * layer over pipes is measured against. */
#ifndef MPC_BENCH_RAW_PIPE_H
#define MPC_BENCH_RAW_PIPE_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct raw_peer {
  int to_child;   /* write end */
  int from_child; /* read end */
  pid_t pid;
};

/* Ping-pong: the child reads `msg_size` bytes and writes them back, until EOF. */
int raw_echo_start(struct raw_peer* peer, size_t msg_size);
/* One round trip of `msg_size` bytes from `buf` (answer read back into `buf`). 0 or -1. */
int raw_round_trip(struct raw_peer* peer, char* buf, size_t msg_size);

/* Bulk: the child reads `batch` messages of `msg_size` bytes into one reused buffer, then
 * writes a 1-byte acknowledgement; repeatedly, until EOF. */
int raw_sink_start(struct raw_peer* peer, size_t msg_size, int batch);
/* Sends `batch` messages of `msg_size` bytes and waits for the acknowledgement. */
int raw_send_batch(struct raw_peer* peer, const char* buf, size_t msg_size, int batch);

/* Closes our ends and reaps the child. */
void raw_stop(struct raw_peer* peer);

#ifdef __cplusplus
}
#endif

#endif
