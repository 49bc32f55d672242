"""An adapter whose answers a test scripts, to check the runner's verdicts on the case language v2.

Usage: scripted_adapter.py SCRIPT.json --endpoint ENDPOINT. The script (JSON):

  {"implementation": {...fields merged into hello.implementation...},
   "stamps": true,              # results carry started_at / ended_at (time.monotonic())
   "stderr": "text",            # written to stderr by the controller at setup
   "features": ["warnings"],    # capabilities.features (setup's `warnings` is then written to stderr)
   "calls": {"OBJECT.METHOD": [BEHAVIOUR, ...]}}   # or "METHOD" for actor operations

Each call of OBJECT.METHOD takes the next BEHAVIOUR of its list (the last one repeats):
  {"value": TYPED}              returns TYPED (default None)
  {"echo": true}                returns its first argument as sent
  {"raise": "queue.Empty"}      raises that portable type
  {"delay": S}                  before answering, sleeps S seconds
  {"hang": true}                never answers (until the process is killed)
  {"die": true}                 the process kills itself (after the delay), answering nothing
  {"die": "SIGSEGV"}            the same, by that signal
Process actors are real processes (forked), so that signals reach them; thread actors are threads.
Behaviours are consumed per process: give each actor its own object name where the order matters.
"""
import json
import os
import signal
import sys
import threading
import time

import zmq

SCRIPT = json.load(open(sys.argv[1]))
ENDPOINT = sys.argv[sys.argv.index("--endpoint") + 1]
LOCK = threading.Lock()
USED = {}


def connect(ctx, name):
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.ROUTING_ID, name.encode())
    sock.setsockopt(zmq.LINGER, 1000)
    sock.connect(ENDPOINT)
    return sock


def send(sock, **msg):
    msg["protocol"] = 1
    sock.send(json.dumps(msg).encode())


def behaviour(key):
    with LOCK:
        plan = SCRIPT.get("calls", {}).get(key, [{}])
        i = USED.get(key, 0)
        USED[key] = i + 1
        return plan[min(i, len(plan) - 1)]


def answer(sock, msg):
    seq = msg["seq"]
    send(sock, type="started", re=seq)
    key = msg["method"] if msg["target"] is None else "%s.%s" % (msg["target"], msg["method"])
    b = behaviour(key) if msg["method"] != "exit" else {}
    started_at = time.monotonic()
    if msg["method"] == "sleep":
        time.sleep(float(msg["args"][0]["v"]))
    if b.get("hang"):
        time.sleep(3600)
    time.sleep(b.get("delay", 0))
    if b.get("die"):
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        os.kill(os.getpid(), getattr(signal, b["die"]) if isinstance(b["die"], str) else signal.SIGKILL)
    ended_at = time.monotonic()
    result = {"type": "result", "re": seq, "elapsed": ended_at - started_at}
    if SCRIPT.get("stamps"):
        result.update(started_at=started_at, ended_at=ended_at)
    if "raise" in b:
        result.update(status="raised", exception={"type": b["raise"], "bases": ["Exception"], "message": "", "args": []})
    else:
        value = msg["args"][0] if b.get("echo") else b.get("value", {"t": "none"})
        result.update(status="returned", value=value)
    send(sock, **result)


def actor_loop(ctx, name):
    sock = connect(ctx, name)
    send(sock, type="hello", role="actor", name=name, pid=os.getpid())
    while True:
        msg = json.loads(sock.recv())
        answer(sock, msg)
        if msg["method"] == "exit":
            sock.close()
            return


def process_actor(name):
    ctx = zmq.Context()
    try:
        actor_loop(ctx, name)
    finally:
        ctx.term()
    os._exit(0)


def main():
    ctx = zmq.Context()
    sock = connect(ctx, "main")
    implementation = {"name": "scripted", "version": "0", "language": "python", "semantics": "3.12",
                      "family": "scripted"}
    implementation.update(SCRIPT.get("implementation", {}))
    send(sock, type="hello", role="controller", pid=os.getpid(), implementation=implementation,
         capabilities={"types": ["Queue", "JoinableQueue", "Process"],
                       "ops": ["Queue.get", "Queue.put", "Queue.qsize", "JoinableQueue.join",
                               "JoinableQueue.task_done", "Process.join", "Process.exitcode"],
                       "start_methods": ["fork"], "features": SCRIPT.get("features", [])})
    children = []
    while True:
        msg = json.loads(sock.recv())
        if msg["type"] == "setup":
            if SCRIPT.get("stderr"):
                sys.stderr.write(SCRIPT["stderr"])
                sys.stderr.flush()
            if "warnings" in msg:
                sys.stderr.write("warnings filter: %s\n" % msg["warnings"])
                sys.stderr.flush()
            for actor in msg["actors"]:
                if actor["kind"] == "process":
                    pid = os.fork()
                    if pid == 0:  # a new context of its own; the parent's is never touched here
                        process_actor(actor["name"])
                    children.append(pid)
                else:
                    threading.Thread(target=actor_loop, args=(ctx, actor["name"]), daemon=True).start()
            send(sock, type="ready", re=msg["seq"])
        elif msg["type"] == "call":
            answer(sock, msg)
        elif msg["type"] == "teardown":
            for pid in children:
                os.waitpid(pid, 0)
            send(sock, type="goodbye", re=msg["seq"], cleanup=[])
            sock.close()  # lingers until goodbye is out; ctx.term() waits for that
            threading.Thread(target=lambda: (time.sleep(3), os._exit(0)), daemon=True).start()
            ctx.term()
            os._exit(0)


main()
