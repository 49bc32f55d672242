"""Records what the runner sends, for tests/runner/test_to_adapter_schema.py.

Usage: mpconform --impl 'cmd:rec=/usr/bin/python3 tests/runner/recording_adapter.py OUTDIR ADAPTER COMMAND...'
It sits between the runner and a real adapter (one DEALER towards the runner per peer, with the
peer's routing id, as tests/fuzz/record_adapter_messages.py does the other way), forwards every
frame both ways, and appends each frame the runner sends to OUTDIR/sent-PID.jsonl, one line a
frame as the runner sent it. OUTDIR's top-level /tmp entry is on the command line, so the runner's
private /tmp still has it.
"""
import os
import subprocess
import sys

import zmq

out_dir = sys.argv[1]
command = sys.argv[2:sys.argv.index("--endpoint")]
runner_endpoint = sys.argv[sys.argv.index("--endpoint") + 1]
os.makedirs(out_dir, exist_ok=True)
log = open(os.path.join(out_dir, "sent-%d.jsonl" % os.getpid()), "ab")

ctx = zmq.Context()
inner = ctx.socket(zmq.ROUTER)
inner.setsockopt(zmq.LINGER, 1000)
port = inner.bind_to_random_port("tcp://127.0.0.1")
child = subprocess.Popen(command + ["--endpoint", "tcp://127.0.0.1:%d" % port])
poller = zmq.Poller()
poller.register(inner, zmq.POLLIN)
outer = {}  # routing id -> DEALER towards the runner
while True:
    events = dict(poller.poll(100))
    if not events and child.poll() is not None:
        break
    if inner in events:
        peer, frame = inner.recv_multipart()
        if peer not in outer:
            d = ctx.socket(zmq.DEALER)
            d.setsockopt(zmq.ROUTING_ID, peer)
            d.setsockopt(zmq.LINGER, 1000)
            d.connect(runner_endpoint)
            outer[peer] = d
            poller.register(d, zmq.POLLIN)
        outer[peer].send(frame)
    for peer, d in outer.items():
        if d in events:
            frame = d.recv()
            log.write(frame.replace(b"\n", b" ") + b"\n")  # JSON text has no raw newline but in whitespace
            log.flush()
            inner.send_multipart([peer, frame])
log.close()
sys.exit(child.returncode)
