"""Writes the seed corpora of tests/fuzz from a real CPython (run once per interpreter):

    for py in ~/.pyenv/versions/3.*/bin/python; do $py tests/fuzz/corpus/make_seeds.py; done

corpus/pickle: plain-data values pickled by this CPython at protocols 0-5 (a file another version
already wrote identically is not written again; one that differs gets the version in its name),
and every pickle reproducer of issue 7 (items 19-21).
corpus/connection_frames: byte streams written by this CPython's multiprocessing.connection
(send_bytes / send), and the frame reproducers of issue 7 (items 17-18). Each input starts with
the 3 bytes fuzz_connection_frames.cpp reads first (transport and form seed, maxlength).
"""
import math
import multiprocessing.connection
import os
import pickle
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = '%d.%d' % sys.version_info[:2]


def write(corpus, name, data):
    directory = os.path.join(HERE, corpus)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    if os.path.exists(path):
        with open(path, 'rb') as f:
            if f.read() == data:
                return
        base, dot, ext = name.rpartition('.')
        path = os.path.join(directory, '%s-%s.%s' % (base, VERSION, ext))
    with open(path, 'wb') as f:
        f.write(data)


def values():
    rec_list = []
    rec_list.append(rec_list)
    rec_dict = {}
    rec_dict['self'] = rec_dict
    shared = 'shared'
    rec_tuple_list = []
    rec_tuple_list.append((rec_tuple_list, 1))
    return {
        'none': None, 'true': True, 'false': False,
        'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**63, -2**64, 10**100],
        'floats': [0.0, -0.0, 0.1, 1e300, 5e-324, math.inf, -math.inf, math.nan],
        'strs': ['', 'a', 'caf\xe9', '\u20ac', '\U0001f600', '\ud800', 'a\nb\\c\x00\x1a', 'x' * 300],
        'bytes': [b'', b'\x00', b'\xff' * 3, bytearray(b'ab'), bytearray()],
        'containers': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], {}, set(), frozenset(),
                       {1, 2, 3}, frozenset({'a'}), {'k': [1, {2: (3,)}]}],
        'shared': [shared, shared, (shared,), [rec_list, rec_list]],
        'recursive': [rec_list, rec_dict, rec_tuple_list],
        'batches': [list(range(1001)), dict.fromkeys(range(1000)), set(range(1000))],
        'nested': [[[[[[[[[[1]]]]]]]]]],
    }


# Payloads of 64 KiB or more go outside frames (protocol 4+): one seed each is enough.
LONG = {'long_str': 'y' * 66000, 'long_bytes': b'z' * 66000}


def pickle_seeds():
    for name, value in values().items():
        for protocol in range(6):
            write('pickle', '%s-p%d.pickle' % (name, protocol), pickle.dumps(value, protocol))
    for name, value in LONG.items():
        write('pickle', '%s-p4.pickle' % name, pickle.dumps(value, 4))
    # Issue 7, item 19: self-references must not count as nesting.
    l = []
    l.extend([l] * 10000)
    write('pickle', 'issue7-19-self-list-cpython.pickle', pickle.dumps(l, 4))
    write('pickle', 'issue7-19-self-list.pickle', b'\x80\x04\x5d\x94\x28' + b'h\x00' * 10000 + b'\x65\x2e')
    d = {}
    for i in range(10001):
        d[i] = d
    write('pickle', 'issue7-19-self-dict.pickle', pickle.dumps(d, 4))
    # Item 20: a big int (repr must stay linear).
    write('pickle', 'issue7-20-big-int.pickle', pickle.dumps(2**160000 - 12345, 4))
    # Item 21: what CPython's C unpickler reads although CPython 3 does not write it.
    for i, data in enumerate([b"S'abc'\n.", b'S"a\\x00\\101\\q"\n.', b'I 1\n.', b'I1_0\n.', b'I0x10\n.',
                              b'I007\n.', b'L0x1fL\n.', b'F+1.5\n.', b'F1e400\n.', b'NN.', b'(N.',
                              b'\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc\x98.',
                              b'\x80\x05C\x03abc\x98.']):
        write('pickle', 'issue7-21-%02d.pickle' % i, data)


def recorded(send):
    """The bytes a CPython Connection writes for send(conn)."""
    r, w = os.pipe()
    conn = multiprocessing.connection.Connection(w, readable=False)
    send(conn)
    conn.close()
    chunks = []
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    return b''.join(chunks)


def frame_seeds():
    streams = {
        'send-bytes': recorded(lambda c: [c.send_bytes(b) for b in (b'', b'x', b'hello' * 100, bytes(range(256)))]),
        'send-values': recorded(lambda c: [c.send(v) for v in (None, 1, 'two', [3.0, (4,)], {'k': b'v'})]),
        'send-large': recorded(lambda c: c.send_bytes(b'L' * 20000)),
        'extended-header': b'\xff\xff\xff\xff' + struct.pack('!Q', 5) + b'abcde',
        # Issue 7, item 17: a 2 GiB claim and 3 bytes, then EOF.
        'issue7-17-claims-2GiB': bytes.fromhex('7fffffff616263'),
        # Item 18: extended lengths of 2^40, 2^62 and 2^64-1.
        'issue7-18-2p40': b'\xff\xff\xff\xff' + struct.pack('!Q', 2**40),
        'issue7-18-2p62': b'\xff\xff\xff\xff' + struct.pack('!Q', 2**62),
        'issue7-18-2p64m1': b'\xff\xff\xff\xff' + struct.pack('!Q', 2**64 - 1),
        'negative-length': b'\xff\xff\xff\xfe',
        'torn-header': b'\x00\x00',
    }
    for name, stream in streams.items():
        # Both transports, two form seeds, maxlength 16 and 4096.
        for prefix in (b'\x00\x10\x00', b'\x01\x00\x10', b'\x06\x10\x00', b'\x07\x00\x10'):
            write('connection_frames', '%s-%02x.bin' % (name, prefix[0]), prefix + stream)


if __name__ == '__main__':
    pickle_seeds()
    frame_seeds()
