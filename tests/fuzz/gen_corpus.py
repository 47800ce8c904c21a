#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: corpus/pool/* and corpus/arena/*.

Each seed is a short operation stream in the byte format the targets read (pool_fuzz.cpp and
arena_fuzz.cpp describe it); together they exercise every operation of every allocator, so a
fuzzing run starts from inputs that already reach the interesting paths. Regenerate with
    python3 tests/fuzz/gen_corpus.py
(the output is deterministic; files are overwritten, others in the folders are left alone).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u16(v):
    return struct.pack("<H", v)


# --- pool stream ------------------------------------------------------------------------------
# capacity = 4096 + (v * 4) % (256 KiB - 4 KiB + 1)
def pool_capacity(cap):
    return u16((cap - 4096) // 4)


def size(n):
    """A size operand: 1..128 in one byte, else a 16-bit or 24-bit form."""
    if 1 <= n <= 128:
        return bytes([n - 1])
    if 129 <= n <= 129 + 2047:
        return bytes([0x80]) + u16(n - 129)
    return bytes([0xC0]) + struct.pack("<I", n - 1)[:3]  # 1 + u24 % capacity (n <= capacity)


def align(a):
    """An alignment operand: 1..16 as 1 << (b % 5) below 0x80, up to 4096 as 1 << (b % 13)."""
    k = a.bit_length() - 1
    return bytes([k]) if k <= 4 else bytes([0x80 + ((k - 0x80 % 13) % 13)])


def p_alloc(n, a=16, seed=1):
    return bytes([0]) + size(n) + align(a) + bytes([seed & 0xFF])


def p_alloc_big_align(n, shift, seed=2):  # alignment 16 << shift
    return bytes([5]) + size(n) + bytes([shift]) + bytes([seed & 0xFF])


def p_free(i):
    return bytes([6, i])


def p_fill(i, seed):
    return bytes([9, i, seed])


def p_check(i):
    return bytes([10, i])


P_RESET = bytes([11])


def p_free_all(how):
    return bytes([12, how])


def p_bad(kind):
    return bytes([13, kind])


P_RELEASE = bytes([14, 0xA5])


def p_alloc_free(n, a, free_index):
    return bytes([15]) + size(n) + align(a) + bytes([3, free_index])


def bin_last_resort():
    """Reaches the pool's last-resort scan: nine free blocks in one size class, the eight at the
    head of its list too small for the request, the ninth (freed first) large enough, and no free
    block in any higher class. The pool is tiled exactly: big, then eight 1040-byte blocks, each
    followed by a live 48-byte separator, then a filler that takes the rest."""
    order = []  # the target's slot list (free swaps the last slot into the freed one)
    out = bytearray(pool_capacity(12288))

    def alloc(name, n):
        out.extend(p_alloc(n, 16, len(order)))
        order.append(name)

    def free(name):
        i = order.index(name)
        out.extend(p_free(i))
        order[i] = order[-1]
        order.pop()

    alloc("big", 1120)  # block 1136
    alloc("sep0", 8)    # block 48
    for k in range(1, 9):
        alloc(f"a{k}", 1024)  # block 1040
        alloc(f"sep{k}", 8)
    alloc("filler", 12288 - 1136 - 48 - 8 * (1040 + 48) - 16)  # the rest, exactly
    free("big")
    for k in range(1, 9):
        free(f"a{k}")
    alloc("needs_big", 1088)  # block 1104: same class as 1040 and 1136
    out.extend(p_free_all(2))
    return bytes(out)


POOL = {
    "bin_last_resort": bin_last_resort(),
    "alloc_free_small": pool_capacity(4096)
    + b"".join(p_alloc(n, 16, n) for n in (1, 8, 16, 17, 32, 33, 48, 64, 100, 128))
    + p_free(3) + p_free(0) + p_free(5) + p_check(1) + p_free(1) + p_free_all(0),
    "aligned": pool_capacity(65536)
    + b"".join(p_alloc_big_align(n, s) for n, s in ((8, 2), (100, 4), (1, 8), (300, 6), (40, 3)))
    + p_alloc(24, 4096, 9) + p_free(0) + p_free(2) + p_check(0) + p_free_all(3),
    "fill_check": pool_capacity(8192)
    + p_alloc(200, 8) + p_alloc(300, 32) + p_fill(0, 7) + p_check(0) + p_fill(1, 8) + p_check(1)
    + p_alloc(57, 1) + p_fill(2, 9) + p_check(2) + p_check(0),
    "reset": pool_capacity(16384)
    + b"".join(p_alloc(n, 16, n) for n in (500, 1000, 1500, 7))
    + P_RESET + b"".join(p_alloc(n, 64, n) for n in (2000, 3)) + p_free(0) + P_RESET,
    "free_all_orders": pool_capacity(32768)
    + b"".join(
        b"".join(p_alloc(n, 16, n) for n in (40, 80, 120, 160, 200, 240, 280)) + p_free_all(how)
        for how in range(5)
    ),
    "bad_requests": pool_capacity(4096) + p_alloc(10) + b"".join(p_bad(k) for k in range(8)) + p_free(0),
    "exhaust": pool_capacity(4096)
    + p_alloc(4000) + p_alloc(100) + p_free(0)
    + b"".join(p_alloc(200, 16, k) for k in range(22)) + p_free_all(2),
    "release": pool_capacity(4096) + p_alloc(64) + p_alloc(128) + P_RELEASE + p_alloc(16) + P_RESET + p_alloc(8),
    "alloc_free_churn": pool_capacity(131072)
    + b"".join(p_alloc_free(n, a, i) for n, a, i in ((3000, 16, 0), (20000, 64, 1), (70, 1024, 0), (9000, 8, 2)))
    + p_alloc(100000, 256, 4) + p_free_all(4),
}

# --- arena stream -----------------------------------------------------------------------------
MUTEX, MUTEX_BUFFER, ATOMIC, ATOMIC_COUNTED, CHAINED, THREAD_LOCAL = range(6)


def a_size(n):
    if 1 <= n <= 128:
        return bytes([n - 1])
    if n <= 4096:
        return bytes([0x80]) + u16(n - 1)
    return bytes([0xF0]) + struct.pack("<I", n - 1)[:3]  # 1 + u24 % 256 KiB


def a_alloc(n, a=16, seed=1):
    return bytes([0]) + a_size(n) + align(a) + bytes([seed & 0xFF])


def a_alloc_big_align(n, shift, seed=2):  # alignment 32 << shift
    return bytes([5]) + a_size(n) + bytes([shift, seed & 0xFF])


def a_burst(count, n, a=8):
    return bytes([6, count - 1, n - 1]) + align(a)


def a_exact(a=1, less=0, one_more=False, seed=4):
    return bytes([7]) + align(a) + bytes([less, 0xFF if one_more else 0, seed & 0xFF])


def a_free(i):
    return bytes([8, i])


def a_fill(i, seed):
    return bytes([9, i, seed])


def a_check(i):
    return bytes([10, i])


A_RESET = bytes([11])


def a_bad(kind):
    return bytes([12, kind])


A_RELEASE = bytes([13, 0xA5])
A_SWITCH = bytes([14, 0])  # thread-local arena: continue on a new thread (at most 4 times)


def a_calloc(count_byte, n, a=16):  # chained arena
    return bytes([14, count_byte]) + a_size(n) + align(a)


def chain_params(block_size, budget_blocks, extra4):
    return u16(block_size) + bytes([budget_blocks]) + u16(extra4)


ARENA = {
    "mutex_basic": bytes([MUTEX]) + u16(4096)
    + a_alloc(10) + a_alloc(100, 64) + a_alloc(7, 1) + a_fill(0, 5) + a_check(0) + a_free(1) + a_check(1)
    + A_RESET + a_alloc(4000, 8) + a_alloc(200) + a_check(0),
    "mutex_buffer_exact_fit": bytes([MUTEX_BUFFER]) + u16(1000) + bytes([4])
    + a_alloc(33, 32) + a_alloc(1, 1) + a_exact(8) + a_alloc(1, 1) + A_RESET + a_exact(1, 0, True) + a_exact(4, 2),
    "atomic_exhaust": bytes([ATOMIC]) + u16(1000)
    + a_burst(20, 40, 8) + a_alloc(100) + a_bad(0) + a_bad(5) + a_bad(7) + A_RESET + a_alloc(999, 1) + a_alloc(1, 1),
    "atomic_counted_align": bytes([ATOMIC_COUNTED]) + u16(8192)
    + a_alloc(1, 1) + a_alloc_big_align(50, 2) + a_alloc_big_align(10, 7) + a_burst(8, 100, 32) + a_fill(3, 1)
    + a_check(3) + A_RESET,
    "chained_grow_reuse": bytes([CHAINED]) + chain_params(1024, 4, 0)
    + a_burst(30, 100, 16) + a_alloc(3000, 64) + a_alloc(900) + A_RESET + a_burst(20, 200, 8)
    + a_alloc(5000) + a_check(0) + A_RESET + a_exact(16),
    "chained_calloc": bytes([CHAINED]) + chain_params(4096, 3, 1000)
    + a_calloc(3, 300) + a_calloc(0xF5, 64) + a_calloc(7, 8000) + a_check(0) + a_bad(4) + A_RELEASE + a_alloc(8),
    "thread_local_switch": bytes([THREAD_LOCAL]) + chain_params(512, 6, 100)
    + a_alloc(100) + a_alloc(200, 32) + A_SWITCH + a_alloc(150) + a_exact(8) + a_alloc(2000) + A_SWITCH
    + A_RESET + a_burst(10, 64) + A_SWITCH + a_check(2) + a_bad(1) + A_RELEASE,
    "thread_local_two_arenas": bytes([THREAD_LOCAL]) + chain_params(1024, 4, 0)
    + a_alloc(10) + bytes([15, 0, 40]) + a_alloc(20) + bytes([15, 2, 7]) + A_SWITCH + bytes([15, 4, 1])
    + a_alloc(30, 64) + a_check(1),
    "mutex_release": bytes([MUTEX]) + u16(256)
    + a_alloc(64) + a_alloc(64, 128) + a_bad(2) + A_RELEASE + a_alloc(1, 1) + A_RESET + a_alloc(1, 1),
    "mutex_zero_capacity": bytes([MUTEX]) + u16(0) + a_alloc(1, 1) + A_RESET + a_bad(3),
}


def write(folder, seeds):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name, data in seeds.items():
        assert len(data) < 1024, name
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("pool", POOL)
    write("arena", ARENA)
