"""A deliberately misbehaving adapter, to check the runner's own verdicts.

Usage: fake_adapter.py MODE --endpoint ENDPOINT. It speaks just enough of the protocol to reach the
first call of a case whose only step is `sleep`, then misbehaves as MODE says. MODE `by_case` takes
the mode from the case's name, up to a double underscore: case `mix.wrong__recommended` is `wrong`.
"""
import json
import os
import sys
import time
import traceback

import zmq

MODE = sys.argv[1]
ENDPOINT = sys.argv[sys.argv.index("--endpoint") + 1]


def send(sock, **msg):
    msg["protocol"] = 1
    sock.send(json.dumps(msg).encode())


def result_frame(seq, **fields):
    msg = {"protocol": 1, "type": "result", "re": seq, "status": "returned", "elapsed": 0.001,
           "value": {"t": "none"}}
    msg.update(fields)
    return json.dumps(msg).encode()


def nested_value(depth):
    """A list nested `depth` deep, as typed JSON text: built flat, since json.dumps would recurse."""
    return '{"t": "list", "v": [' * depth + '{"t": "none"}' + "]}" * depth


def misbehave(sock, seq):
    """The reproducers of issue 7 (items 1-6): one bad frame or sequence for the first call.
    True if the adapter should then hang (the runner must end the case)."""
    if MODE == "not_utf8_frame":  # a frame that is neither UTF-8 nor JSON
        sock.send(b"\xff\xfe not json")
    elif MODE == "not_utf8_string":  # valid JSON but for one byte inside a string
        sock.send(result_frame(seq).replace(b'"none"', b'"str", "v": "a\xffb"'))
    elif MODE == "deep_message":  # 10^5 levels of arrays
        sock.send(b"[" * 10**5 + b"]" * 10**5)
    elif MODE in ("deep_value", "deep_args"):  # a value 3x10^4 levels deep
        send(sock, type="started", re=seq)
        deep = nested_value(3 * 10**4)
        if MODE == "deep_value":
            text = '{"protocol": 1, "type": "result", "re": %d, "status": "returned", "elapsed": 0.001, "value": %s}' % (seq, deep)
        else:
            text = ('{"protocol": 1, "type": "result", "re": %d, "status": "raised", "elapsed": 0.001, '
                    '"exception": {"type": "ValueError", "bases": ["Exception"], "message": "", "args": [%s]}}' % (seq, deep))
        sock.send(text.encode())
    elif MODE == "multipart":  # two frames that would be one valid result if joined
        send(sock, type="started", re=seq)
        frame = result_frame(seq)
        sock.send_multipart([frame[:20], frame[20:]])
    elif MODE == "huge_frame":  # 300 MiB: never into the runner's memory
        send(sock, type="started", re=seq)
        # A valid result padded with trailing whitespace; built in place, since making 300 MiB of
        # text in Python takes seconds of the case deadline on a loaded machine.
        frame = bytearray(b" ") * (300 << 20)
        head = result_frame(seq)
        frame[:len(head)] = head
        sock.send(frame, copy=False)
    elif MODE == "wrong_type":  # a field of the wrong type
        send(sock, type="started", re=seq)
        sock.send(result_frame(seq, value={"t": 5}))
    elif MODE == "result_without_started":
        sock.send(result_frame(seq))
    else:
        return False
    return True


def print_traceback():
    """The same traceback from every case (the pid on the line before it differs)."""
    try:
        {}["no such key"]
    except KeyError:
        sys.stderr.write("fake-adapter[%d]: the call failed:\n%s" % (os.getpid(), traceback.format_exc()))
        sys.stderr.flush()


def main():
    global MODE
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
            if MODE == "by_case":
                MODE = msg["case"].rsplit(".", 1)[1].split("__")[0]
            send(sock, type="ready", re=msg["seq"])
            if MODE == "ready_twice":
                send(sock, type="ready", re=msg["seq"])
            if MODE == "undeclared_actor":  # an actor hello the case never asked for
                send(sock, type="hello", role="actor", name="main", pid=os.getpid())
        elif msg["type"] == "call":
            seq = msg["seq"]
            if MODE == "garbage":
                sock.send(b"\x00this is not json")
                time.sleep(120)
            if MODE == "crash":
                os._exit(3)
            if misbehave(sock, seq):
                time.sleep(120)  # the runner must end the case and kill the group
                continue
            send(sock, type="started", re=seq)
            if MODE == "duplicate_started":
                send(sock, type="started", re=seq)
            if MODE == "hang":
                if os.fork() == 0:  # a child in the group, which the runner must kill too
                    time.sleep(120)
                    os._exit(0)
                time.sleep(120)
            if MODE == "slow":  # the case takes a while (for the progress line)
                time.sleep(1.5)
            if MODE == "traceback":
                print_traceback()
            if MODE in ("unknown_op", "traceback"):
                send(sock, type="result", re=seq, status="error", elapsed=0.0,
                     error={"kind": "unknown_op", "message": "no such op"})
                continue
            if MODE == "stderr_bytes":  # bytes that are not UTF-8 in the output the runner keeps
                os.write(2, b"adapter output: \xff\xfe\x80 end\n")
            value = {"t": "int", "v": "5"} if MODE in ("wrong", "stderr_bytes") else {"t": "none"}
            send(sock, type="result", re=seq, status="returned", elapsed=0.001, value=value)
            if MODE == "duplicate_result":
                send(sock, type="result", re=seq, status="returned", elapsed=0.001, value=value)
            if MODE == "contradictory_result":  # the first passes the step; the second contradicts it
                send(sock, type="result", re=seq, status="raised", elapsed=0.001,
                     exception={"type": "ValueError", "bases": ["Exception"], "message": "no", "args": []})
        elif msg["type"] == "teardown":
            send(sock, type="goodbye", re=msg["seq"], cleanup=[])
            if MODE == "after_goodbye":  # the runner reads what arrived once the adapter exited
                send(sock, type="started", re=msg["seq"])
            sock.close()
            ctx.term()
            if MODE == "leak" and os.fork() == 0:
                time.sleep(120)
                os._exit(0)
            return


main()
