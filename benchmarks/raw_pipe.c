#include "raw_pipe.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int read_full(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int start(struct raw_peer* peer, int child_in[2], int child_out[2]) {
  if (pipe(child_in) != 0) return -1;
  if (pipe(child_out) != 0) return -1;
  peer->pid = fork();
  if (peer->pid < 0) return -1;
  if (peer->pid == 0) {
    close(child_in[1]);
    close(child_out[0]);
    return 1; /* in the child */
  }
  close(child_in[0]);
  close(child_out[1]);
  peer->to_child = child_in[1];
  peer->from_child = child_out[0];
  return 0;
}

int raw_echo_start(struct raw_peer* peer, size_t msg_size) {
  int in[2], out[2];
  int r = start(peer, in, out);
  if (r != 1) return r;
  char* buf = malloc(msg_size);
  while (read_full(in[0], buf, msg_size) == 0 && write_full(out[1], buf, msg_size) == 0) {
  }
  _exit(0);
}

int raw_round_trip(struct raw_peer* peer, char* buf, size_t msg_size) {
  if (write_full(peer->to_child, buf, msg_size) != 0) return -1;
  return read_full(peer->from_child, buf, msg_size);
}

int raw_sink_start(struct raw_peer* peer, size_t msg_size, int batch) {
  int in[2], out[2];
  int r = start(peer, in, out);
  if (r != 1) return r;
  char* buf = malloc(msg_size);
  for (;;) {
    for (int i = 0; i < batch; ++i) {
      if (read_full(in[0], buf, msg_size) != 0) _exit(0);
    }
    if (write_full(out[1], "k", 1) != 0) _exit(0);
  }
}

int raw_send_batch(struct raw_peer* peer, const char* buf, size_t msg_size, int batch) {
  for (int i = 0; i < batch; ++i) {
    if (write_full(peer->to_child, buf, msg_size) != 0) return -1;
  }
  char ack;
  return read_full(peer->from_child, &ack, 1);
}

void raw_stop(struct raw_peer* peer) {
  close(peer->to_child);
  close(peer->from_child);
  int st;
  while (waitpid(peer->pid, &st, 0) < 0 && errno == EINTR) {
  }
}
