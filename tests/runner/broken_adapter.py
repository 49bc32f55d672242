"""A small adapter that breaks the protocol on purpose, for `mpconform adapter-check`'s tests.

Usage: broken_adapter.py MODES --endpoint ENDPOINT, MODES a comma-separated list (or `good`). It
offers a Queue (a queue.Queue of this process: put, get, qsize, empty) and serves thread actors,
correctly but for what each mode breaks:

  unregistered_op     claims Queue.frobnicate, which spec/api.yaml does not have
  hello_wrong_type    first sends a hello whose pid is a string, then a good one
  result_before_started  answers each call with its result, then its started
  wrong_re            answers each Queue call's result with an `re` that names no call
  error_kind          answers Queue.empty with status error of a kind the protocol does not have
  claimed_unknown     answers Queue.qsize, which it claims, with error unknown_op
  second_result       sends each Queue.put's result twice
  no_goodbye          exits on teardown without a goodbye
"""
import json
import os
import queue
import sys
import threading
import time

import zmq

MODES = set(sys.argv[1].split(","))
ENDPOINT = sys.argv[sys.argv.index("--endpoint") + 1]
CTX = zmq.Context()


def socket(name):
    s = CTX.socket(zmq.DEALER)
    s.setsockopt(zmq.ROUTING_ID, name.encode())
    s.setsockopt(zmq.LINGER, 1000)
    s.connect(ENDPOINT)
    return s


def send(sock, **msg):
    msg["protocol"] = 1
    sock.send(json.dumps(msg).encode())


def py(value):
    return int(value["v"]) if value.get("t") == "int" else None


def typed(value):
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    return {"t": "int", "v": str(value)}


def answer(sock, msg, objects):
    seq, method, target = msg["seq"], msg["method"], msg["target"]
    args = [py(a) for a in msg["args"]]
    kwargs = dict((k, float(v["v"]) if v["t"] == "float" else py(v)) for k, v in msg["kwargs"].items())
    result = {"type": "result", "re": seq, "status": "returned", "elapsed": 0.0, "value": {"t": "none"}}
    try:
        if target is None and method == "sleep":
            time.sleep(float(msg["args"][0]["v"]))
        elif target is None and method == "exit":
            pass
        elif target in objects and method in ("put", "get", "qsize", "empty"):
            if method == "qsize" and "claimed_unknown" in MODES:
                result.update(status="error", error={"kind": "unknown_op", "message": "qsize is not here"})
                del result["value"]
            elif method == "empty" and "error_kind" in MODES:
                result.update(status="error", error={"kind": "oops", "message": "a kind the protocol lacks"})
                del result["value"]
            else:
                result["value"] = typed(getattr(objects[target], method)(*args, **kwargs))
        else:
            result.update(status="error", error={"kind": "unknown_op", "message": "%s.%s" % (target, method)})
            del result["value"]
    except queue.Empty:
        result.update(status="raised", exception={"type": "queue.Empty", "bases": ["Exception"], "message": "", "args": []})
        del result["value"]
    on_queue = target in objects
    if "wrong_re" in MODES and on_queue:
        result["re"] = seq + 1000
    if "result_before_started" in MODES:
        send(sock, **result)
        send(sock, type="started", re=seq)
    else:
        send(sock, type="started", re=seq)
        send(sock, **result)
    if "second_result" in MODES and on_queue and method == "put":
        send(sock, **result)


def thread_actor(name, objects):
    sock = socket(name)
    send(sock, type="hello", role="actor", name=name, pid=os.getpid())
    while True:
        msg = json.loads(sock.recv())
        answer(sock, msg, objects)
        if msg.get("method") == "exit":
            sock.close()
            return


def main():
    sock = socket("main")
    ops = ["Queue.put", "Queue.get", "Queue.qsize", "Queue.empty"]
    if "unregistered_op" in MODES:
        ops.append("Queue.frobnicate")
    hello = {"type": "hello", "role": "controller", "pid": os.getpid(),
             "implementation": {"name": "broken", "version": "0", "language": "python", "semantics": "3.12", "family": "broken"},
             "capabilities": {"types": ["Queue"], "ops": ops, "start_methods": ["fork"]}}
    if "hello_wrong_type" in MODES:
        send(sock, **dict(hello, pid=str(os.getpid())))
    send(sock, **hello)
    objects, threads = {}, []
    while True:
        msg = json.loads(sock.recv())
        if msg["type"] == "setup":
            for o in msg["objects"]:
                if o["type"] != "Queue":
                    send(sock, type="setup_failed", re=msg["seq"], error={"message": "no type %s" % o["type"]})
                    break
                objects[o["name"]] = queue.Queue()
            else:
                for a in msg["actors"]:
                    t = threading.Thread(target=thread_actor, args=(a["name"], objects))
                    t.start()
                    threads.append(t)
                send(sock, type="ready", re=msg["seq"])
        elif msg["type"] == "call":
            answer(sock, msg, objects)
        elif msg["type"] == "teardown":
            for t in threads:
                t.join(5)
            if "no_goodbye" in MODES:
                os._exit(0)
            send(sock, type="goodbye", re=msg["seq"], cleanup=[])
            sock.close()
            CTX.term()
            return


main()
