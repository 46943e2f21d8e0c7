#!/usr/bin/env python3
"""Writes a synthetic CPU profile (pprof, gzipped) for benchmarking readers:
SAMPLES samples over LOCATIONS locations (one function each), stacks 8-40 deep
drawn from a fixed call tree so that functions recur across stacks, four threads.

usage: synthetic-profile.py OUT [SAMPLES] [LOCATIONS]"""
import gzip
import random
import sys


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(number, payload):
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def scalar(number, value):
    return varint(number << 3) + varint(value) if value else b""


def packed(number, values):
    return field(number, b"".join(varint(v) for v in values))


def main():
    out = sys.argv[1]
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    locations = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
    rng = random.Random(42)
    strings = ["", "samples", "count", "cpu", "nanoseconds", "thread_comm", "/bin/synthetic", "synthetic.swift"]
    threads = ["main", "worker-1", "worker-2", "io"]
    thread_index = {t: len(strings) + i for i, t in enumerate(threads)}
    strings += threads
    first_function_string = len(strings)
    strings += [f"Synthetic.Module{i % 97}.function{i}(Swift.Int) -> Swift.Int" for i in range(locations)]

    body = bytearray()
    body += field(1, scalar(1, 1) + scalar(2, 2))
    body += field(1, scalar(1, 3) + scalar(2, 4))
    # A call tree: each location's parent is an earlier one, so stacks share prefixes.
    parent = [0] * (locations + 1)
    for loc in range(2, locations + 1):
        parent[loc] = rng.randint(max(1, loc - 2000), loc - 1)
    period = 10_000_000
    thread_labels = {t: field(3, scalar(1, 5) + scalar(2, s)) for t, s in thread_index.items()}
    for _ in range(samples):
        leaf = rng.randint(1, locations)
        stack = [leaf]
        while len(stack) < 40 and parent[stack[-1]]:
            stack.append(parent[stack[-1]])
        periods = rng.choice((1, 1, 1, 2, 3))
        body += field(2, packed(1, stack) + packed(2, [periods, periods * period]) + thread_labels[threads[leaf % 4]])
    body += field(3, scalar(1, 1) + scalar(2, 0x400000) + scalar(3, 0x4000000) + scalar(5, 6) + scalar(7, 1) + scalar(8, 1) + scalar(9, 1))
    for loc in range(1, locations + 1):
        line = field(4, scalar(1, loc) + scalar(2, 10 + loc % 500))
        body += field(4, scalar(1, loc) + scalar(2, 1) + scalar(3, 0x400000 + loc * 16) + line)
    for fn in range(1, locations + 1):
        name = first_function_string + fn - 1
        body += field(5, scalar(1, fn) + scalar(2, name) + scalar(4, 7))
    body += field(11, scalar(1, 3) + scalar(2, 4)) + scalar(12, period)
    body += scalar(10, 60_000_000_000)
    table = b"".join(field(6, s.encode()) for s in strings)
    with open(out, "wb") as f:
        f.write(gzip.compress(table + bytes(body), compresslevel=6))


if __name__ == "__main__":
    main()
