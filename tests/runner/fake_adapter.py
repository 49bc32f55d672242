"""A deliberately misbehaving adapter, to check the runner's own verdicts.

Usage: fake_adapter.py MODE --endpoint ENDPOINT. It speaks just enough of the protocol to reach the
first call of a case whose only step is `sleep`, then misbehaves as MODE says.
"""
import json
import os
import sys
import time

import zmq

MODE = sys.argv[1]
ENDPOINT = sys.argv[sys.argv.index("--endpoint") + 1]


def send(sock, **msg):
    msg["protocol"] = 1
    sock.send(json.dumps(msg).encode())


def main():
    if MODE == "silent":
        time.sleep(120)
        return
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.ROUTING_ID, b"main")
    sock.setsockopt(zmq.LINGER, 1000)
    sock.connect(ENDPOINT)
    send(sock, type="hello", role="controller", pid=os.getpid(),
         implementation={"name": "fake", "version": "0", "language": "python", "semantics": "3.12", "family": "fake"},
         capabilities={"types": [], "ops": [], "start_methods": []})
    while True:
        msg = json.loads(sock.recv())
        if msg["type"] == "setup":
            send(sock, type="ready", re=msg["seq"])
        elif msg["type"] == "call":
            seq = msg["seq"]
            if MODE == "garbage":
                sock.send(b"\x00this is not json")
                time.sleep(120)
            if MODE == "crash":
                os._exit(3)
            send(sock, type="started", re=seq)
            if MODE == "hang":
                if os.fork() == 0:  # a child in the group, which the runner must kill too
                    time.sleep(120)
                    os._exit(0)
                time.sleep(120)
            if MODE == "unknown_op":
                send(sock, type="result", re=seq, status="error", elapsed=0.0,
                     error={"kind": "unknown_op", "message": "no such op"})
                continue
            value = {"t": "int", "v": "5"} if MODE == "wrong" else {"t": "none"}
            send(sock, type="result", re=seq, status="returned", elapsed=0.001, value=value)
        elif msg["type"] == "teardown":
            send(sock, type="goodbye", re=msg["seq"], cleanup=[])
            sock.close()
            ctx.term()
            if MODE == "leak" and os.fork() == 0:
                time.sleep(120)
                os._exit(0)
            return


main()
