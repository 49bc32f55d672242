"""Records what a real adapter sends, for the seed corpus of fuzz_adapter_message.

Usage: mpconform --impl 'cmd:rec=/usr/bin/python3 tests/fuzz/record_adapter_messages.py OUTDIR ADAPTER COMMAND...'
It sits between the runner and the adapter (one DEALER towards the runner per peer, with the
peer's routing id), forwards every frame both ways, and writes each frame the adapter sends to
OUTDIR, named by its SHA-1 (so repeats are kept once). OUTDIR must be outside /tmp and /dev/shm,
which are private to each case where the runner isolates cases. The seeds in
corpus/adapter_message were picked from such a recording of every case through both adapters:
the smallest frame of each kind (message type, status, exception type, value types used).
"""
import hashlib
import os
import subprocess
import sys

import zmq

out_dir = sys.argv[1]
command = sys.argv[2:sys.argv.index("--endpoint")]
runner_endpoint = sys.argv[sys.argv.index("--endpoint") + 1]
os.makedirs(out_dir, exist_ok=True)

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
        with open(os.path.join(out_dir, hashlib.sha1(frame).hexdigest()), "wb") as f:
            f.write(frame)
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
            inner.send_multipart([peer, d.recv()])
sys.exit(child.returncode)
