#!/usr/bin/python3
"""Writes the hostile case files of issue 7 (items 9-15) into a directory (default: this one).

Each is a reproducer: test_case_loader.cpp loads every one and checks that it is rejected at once,
with the file, line:column and reason (the table in test_case_loader.cpp). They
are generated, not written by hand, where they are binary or their size is the point; the fuzz
target's corpus (tests/fuzz/corpus/case_loader/) holds copies.

usage: generate.py [DIR]
"""
import os
import sys

HEADER = (
    "id: hostile.example\n"
    "title: A hostile case\n"
    "spec: queue.md#fifo\n"
    "tags: [ordering]\n"
    "level: required\n"
)
QUEUE = "objects: [{name: q, type: Queue}]\n"


def case(body, header=HEADER):
    return (header + body).encode()


FILES = {
    # 9: an unknown operation on a known type
    "unknown_op.yaml": case(QUEUE + "steps:\n  - call: q.frobnicate\n"),
    # 11: duplicate keys (top level and nested), and a second document
    "duplicate_key_timeout.yaml": case("timeout: -5\n" + QUEUE + "timeout: 30\nsteps:\n  - call: q.empty\n"),
    "duplicate_key_nested.yaml": case(QUEUE + "steps:\n  - call: q.get\n    kwargs: {timeout: 1, block: true, timeout: 2}\n"),
    "second_document.yaml": case(QUEUE + "steps:\n  - call: q.empty\n---\nid: hostile.other\n"),
    # 12: durations that are not finite or not within the bounds
    "timeout_nan.yaml": case("timeout: .nan\n" + QUEUE + "steps:\n  - call: q.empty\n"),
    "timeout_1e300.yaml": case("timeout: 1e300\n" + QUEUE + "steps:\n  - call: q.empty\n"),
    "blocks_inf.yaml": case(QUEUE + "steps:\n  - {call: q.get, as: g, expect: {blocks: .inf}}\n  - {call: q.put, args: [1]}\n  - {await: g}\n"),
    "blocks_1e300.yaml": case(QUEUE + "steps:\n  - {call: q.get, as: g, expect: {blocks: 1e300}}\n  - {await: g}\n"),
    "blocks_nan.yaml": case(QUEUE + "steps:\n  - {call: q.get, as: g, expect: {blocks: .nan}}\n  - {await: g}\n"),
    "blocks_past_timeout.yaml": case("timeout: 5\n" + QUEUE + "steps:\n  - {call: q.get, as: g, expect: {blocks: 6}}\n  - {await: g}\n"),
    "elapsed_max_inf.yaml": case(QUEUE + "steps:\n  - {call: q.empty, expect: {returns: true, elapsed: {max: .inf}}}\n"),
    "elapsed_max_nan.yaml": case(QUEUE + "steps:\n  - {call: q.empty, expect: {returns: true, elapsed: {max: .nan}}}\n"),
    "elapsed_min_nan.yaml": case(QUEUE + "steps:\n  - {call: q.empty, expect: {returns: true, elapsed: {min: .nan}}}\n"),
    "sleep_inf.yaml": case("steps:\n  - {call: sleep, args: [.inf]}\n"),
    # 13: payloads past the bound, in an expectation (computed by the runner)
    "payload_1e10.yaml": case(QUEUE + "steps:\n  - {call: q.put, args: [1]}\n"
                              "  - {call: q.get, expect: {returns: {$payload: {size: 10000000000, seed: 1}}}}\n"),
    "payload_1e15.yaml": case(QUEUE + "steps:\n  - {call: q.put, args: [1]}\n"
                              "  - {call: q.get, expect: {returns: {$payload: {size: 1000000000000000, seed: 1}}}}\n"),
    # 14: small files, huge trees: three $range of 10^7, a YAML alias bomb
    "range_bomb.yaml": case(QUEUE + "steps:\n  - call: q.put_many\n    args: [[{$range: [0, 10000000]}, "
                            "{$range: [0, 10000000]}, {$range: [0, 10000000]}]]\n"),
    "alias_bomb.yaml": case(QUEUE + "steps:\n  - call: q.put\n    args:\n      - a: &a [x, x, x, x, x, x, x, x, x]\n"
                            + "".join("        %s: &%s [%s]\n" % (n, n, ", ".join(["*" + p] * 9))
                                      for p, n in zip("abcdefgh", "bcdefghi"))),
    "recursive_alias.yaml": case(QUEUE + "steps:\n  - call: q.put\n    args: &a [*a]\n"),
    # 15: nesting, an empty file, bytes that are not UTF-8, control characters
    "nesting_500.yaml": case(QUEUE + "steps:\n  - call: q.put\n    args: [" + "[" * 500 + "]" * 500 + "]\n"),
    "empty.yaml": b"",
    "non_utf8_key.yaml": case(QUEUE + "steps:\n  - call: q.get\n    kwargs: {tim") + b"\xff" + b"out: 1}\n",
    "non_utf8_string.yaml": case(QUEUE + "steps:\n  - call: q.put\n    args: [\"caf") + b"\xe9" + b"\"]\n",
    "nul_byte.yaml": case(QUEUE + "steps:\n  - call: q.put\n    args: [a\x00b]\n"),
    # a match pattern outside the linear-time dialect (a backreference)
    "match_backreference.yaml": case(QUEUE + "steps:\n  - call: q.get_nowait\n"
                                     "    expect: {raises: {type: queue.Empty, match: '(a*)\\1b'}}\n"),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(FILES.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
