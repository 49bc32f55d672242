"""An adapter that misbehaves with processes and files, to check the runner's isolation.

Usage: escaping_adapter.py MODE ARG --endpoint ENDPOINT. It answers the one `sleep` step of a case
like a correct adapter, and does what MODE says on the side:

  good NAME          nothing more (NAME is only a marker on the command line)
  escape NAME        starts a grandchild that leaves the process group (double fork + setsid),
                     ignores SIGTERM and sleeps; NAME is on its command line, to find it
  files NAME         leaves /dev/shm/NAME and /tmp/NAME behind
  exclusive NAME     creates /dev/shm/NAME and /tmp/NAME with O_EXCL during the call, holds them
                     1.5 s, removes them; if one already exists it exits with code 3 (crashed)
  slow NAME          the call takes 1.5 s
  hang NAME          the call never ends
  cleanup JSON       the goodbye's cleanup list is JSON
  tmp_listed NAME    leaves /tmp/NAME and lists it in cleanup
  tmp_removed NAME   creates and removes /tmp/NAME, and lists it in cleanup
"""
import json
import os
import signal
import sys
import time

import zmq

MODE, ARG = sys.argv[1], sys.argv[2]
ENDPOINT = sys.argv[sys.argv.index("--endpoint") + 1]


def send(sock, **msg):
    msg["protocol"] = 1
    sock.send(json.dumps(msg).encode())


def escape():
    if os.fork() != 0:
        os.wait()  # the child exits at once: the grandchild is orphaned
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.closerange(0, 1024)  # holds nothing of the adapter's: no socket, no output file
    time.sleep(120)
    os._exit(0)


def create_exclusive(path):
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        os._exit(3)


def on_call():
    if MODE == "escape":
        escape()
    elif MODE in ("files", "tmp_listed"):
        if MODE == "files":
            open("/dev/shm/" + ARG, "w").close()
        open("/tmp/" + ARG, "w").close()
    elif MODE == "tmp_removed":
        open("/tmp/" + ARG, "w").close()
        os.unlink("/tmp/" + ARG)
    elif MODE == "exclusive":
        for path in ("/dev/shm/" + ARG, "/tmp/" + ARG):
            create_exclusive(path)
        time.sleep(1.5)
        for path in ("/dev/shm/" + ARG, "/tmp/" + ARG):
            os.unlink(path)
    elif MODE == "slow":
        time.sleep(1.5)
    elif MODE == "hang":
        time.sleep(120)


def cleanup_list():
    if MODE == "cleanup":
        return json.loads(ARG)
    if MODE in ("tmp_listed", "tmp_removed"):
        return [{"kind": "file", "path": "/tmp/" + ARG}]
    return []


def main():
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.ROUTING_ID, b"main")
    sock.setsockopt(zmq.LINGER, 1000)
    sock.connect(ENDPOINT)
    send(sock, type="hello", role="controller", pid=os.getpid(),
         implementation={"name": "escaping", "version": "0", "language": "python", "semantics": "3.12", "family": "fake"},
         capabilities={"types": [], "ops": [], "start_methods": []})
    while True:
        msg = json.loads(sock.recv())
        if msg["type"] == "setup":
            send(sock, type="ready", re=msg["seq"])
        elif msg["type"] == "call":
            send(sock, type="started", re=msg["seq"])
            on_call()
            send(sock, type="result", re=msg["seq"], status="returned", elapsed=0.001, value={"t": "none"})
        elif msg["type"] == "teardown":
            send(sock, type="goodbye", re=msg["seq"], cleanup=cleanup_list())
            sock.close()
            ctx.term()
            return


main()
