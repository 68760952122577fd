#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (deterministic).

Each seed follows the input layout documented at the top of its target in
fuzz/fuzz_targets/. Run from anywhere: python3 fuzz/make_corpus.py
"""

import struct
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"


def u16(n):
    return struct.pack("<H", n)


def u32(n):
    return struct.pack("<I", n)


# ---- key_id: the raw candidate id ----

KEY_ID = {
    "short": b"a",
    "mixed": b"Key-1.v2_X",
    "longest": b"k" * 128,
    "too-long": b"k" * 129,
    "hidden": b".hidden",
    "traversal": b"../etc/passwd",
    "separator": b"a/b",
    "non-ascii": "caf\u00e9".encode(),
    "nul": b"a\x00b",
}

# ---- hmac_hkdf ----

SHA256, SHA384, SHA512 = b"\x00", b"\x02", b"\x04"


def hmac_seed(alg, key, data, compute, verify, stream, hkdf, name):
    head = alg + bytes([len(key)]) + key + u16(len(data)) + data
    return head + compute + verify + stream + hkdf + name


def hkdf_part(salt, info, okm, flags=0, prk_cap=b"\x02"):
    return bytes([len(salt)]) + salt + bytes([len(info)]) + info + okm + bytes([flags]) + prk_cap


def name_part(name):
    return bytes([len(name)]) + name


HMAC_HKDF = {
    # RFC 4231 case 2 message; exact capacity; a too-small first finish.
    "sha256-rfc4231": hmac_seed(
        SHA256,
        b"Jefe",
        b"what do ya want for nothing?",
        compute=b"\x00\x02",
        verify=b"\x03\x01\x05",
        stream=b"\x00\x03\x01\x05\x00\x01",
        hkdf=hkdf_part(bytes(range(13)), bytes(range(0xF0, 0xFA)), b"\x07\x0a"),
        name=name_part(b"SHA-384"),
    ),
    # A key longer than the block (hashed first), many chunks.
    "sha512-long-key": hmac_seed(
        SHA512,
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        compute=b"\x00\x03\x07",
        verify=b"\x3f\x07\x20",
        stream=b"\x01\x08\x00\x07\x01\x40\x00\x02\x03\x01\x03\x09",
        hkdf=hkdf_part(b"", b"ctx", b"\x04"),
        name=name_part(b"sha_512"),
    ),
    # Empty key and data passed as NULL; size queries with a NULL buffer.
    "sha384-empty-null": hmac_seed(
        SHA384,
        b"",
        b"",
        compute=b"\x03\x00",
        verify=b"\x00\x00\x00",
        stream=b"\x03\x00\x00",
        hkdf=hkdf_part(b"", b"", b"\x00", flags=0x03, prk_cap=b"\x00"),
        name=name_part(b"sha256"),
    ),
    # Unknown algorithm values.
    "unknown-alg": (
        b"\x07" + u32(0xFFFFFFFF) + b"\x03key" + u16(4) + b"data" + b"\x00\x02" + name_part(b"sha1")
    ),
    "alg-zero": b"\x06\x00" + b"\x01k" + u16(1) + b"d" + b"\x00\x02" + name_part(b"sha-"),
    # Required pointers passed as NULL (flag bits 2-5 with bits 6-7 set).
    "null-pointers": hmac_seed(
        SHA256,
        b"key",
        b"data",
        compute=b"\xfc\x02",
        verify=b"\x00\x00\x00",
        stream=b"\xd0\x01\x02\x02",
        hkdf=hkdf_part(b"s", b"i", b"\x01", flags=0xf4),
        name=name_part(b"SHA384"),
    ),
    # Output lengths at and past the HKDF limit.
    "okm-limits": hmac_seed(
        SHA256,
        b"\x0b" * 22,
        b"x" * 100,
        compute=b"\x00\x01",
        verify=b"\x00\x00\x1f",
        stream=b"\x00\x02\x40\x40\x00",
        hkdf=hkdf_part(b"salt", b"info", b"\x05"),
        name=name_part(b"Sha512"),
    ),
}

# ---- store_model: opcode byte, then arguments ----

(STORE, CREATE, GENERATE, GET, DELETE, ROTATE, LIST, EXISTS, CURRENT, GET_VERSION,
 LIST_VERSIONS, PRUNE, TAGGED, VERIFY_TAGGED, HMAC, DERIVE, STAGE, PROMOTE, OUTSIDE_WRITE,
 OUTSIDE_REMOVE) = range(20)
A, B, KEY1, AKEY, EMPTY, HIDDEN, TRAVERSAL, SLASH = range(8)


def short_key(text):
    """A 1-3 byte key from "xyz"."""
    assert 1 <= len(text) <= 3
    # Length bytes 3, 4, 5 (mod 3: 0, 1, 2) give 1, 2, 3 characters.
    return bytes([len(text) + 2]) + bytes("xyz".index(c) for c in text)


def raw_key(raw):
    """Up to 48 raw bytes."""
    for b in range(128, 254):
        if b % 48 == len(raw) - 1:
            return bytes([b]) + raw
    raise ValueError(len(raw))


def ops(*steps):
    return b"".join(bytes(step) if isinstance(step, list) else step for step in steps)


STORE_MODEL = {
    "rotate-prune-tags": ops(
        [STORE, A], short_key("xy"),
        [STORE, A], short_key("z"),
        [TAGGED, A, 0, 3], b"msg",
        [ROTATE, A], short_key("xyz"),
        [LIST_VERSIONS, A],
        [VERIFY_TAGGED, 0, 0, A],
        [PRUNE, A, 1],
        [VERIFY_TAGGED, 0, 0, A],
        [GET_VERSION, A, 1],
        [GET_VERSION, A, 0],
        [CURRENT, A],
        [LIST],
        [DELETE, A],
        [EXISTS, A],
    ),
    "create-generate": ops(
        [CREATE, B], raw_key(bytes(range(1, 17))),
        [CREATE, B], short_key("x"),
        [GENERATE, KEY1, 31],
        [GENERATE, KEY1, 31],
        [GET, KEY1],
        [HMAC, KEY1, 1, 2], b"hi",
        [DERIVE, KEY1, 2, 2],
        [DERIVE, B, 0, 3],
        [DELETE, KEY1],
        [GET, KEY1],
        [LIST],
    ),
    "invalid-ids": ops(
        [STORE, EMPTY], short_key("x"),
        [CREATE, HIDDEN], short_key("y"),
        [GET, TRAVERSAL],
        [DELETE, SLASH],
        [EXISTS, HIDDEN],
        [PRUNE, TRAVERSAL, 0],
        [LIST_VERSIONS, EMPTY],
        [TAGGED, SLASH, 0, 0],
    ),
    "same-bytes": ops(
        [STORE, AKEY], short_key("x"),
        [STORE, AKEY], short_key("x"),
        [ROTATE, AKEY], short_key("x"),
        [STORE, A], short_key("x"),
        [PRUNE, AKEY, 2],
        [LIST_VERSIONS, AKEY],
        [GET_VERSION, AKEY, 1],
        [TAGGED, AKEY, 2, 0],
        [VERIFY_TAGGED, 0, 4, AKEY, 1],
        [VERIFY_TAGGED, 0x80, 0, A],
        [LIST],
    ),
    "outside-write": ops(
        [STORE, A], short_key("x"),
        [ROTATE, A], short_key("y"),
        [TAGGED, A, 0, 3], b"msg",
        [OUTSIDE_WRITE, A],
        [LIST_VERSIONS, A],
        [GET_VERSION, A, 1],
        [GET_VERSION, A, 2],
        [VERIFY_TAGGED, 0, 0, A],
        [CURRENT, A],
        [ROTATE, A], short_key("z"),
        [LIST_VERSIONS, A],
    ),
    "outside-remove": ops(
        [STORE, B], short_key("x"),
        [ROTATE, B], short_key("y"),
        [OUTSIDE_REMOVE, B],
        [GET, B],
        [EXISTS, B],
        [LIST],
        [OUTSIDE_WRITE, B],
        [GET_VERSION, B, 1],
        [OUTSIDE_REMOVE, B],
        [CREATE, B], short_key("z"),
        [LIST_VERSIONS, B],
    ),
    "stage-promote": ops(
        [STORE, A], short_key("x"),
        [STAGE, A], short_key("y"),
        [LIST_VERSIONS, A],
        [TAGGED, A, 1, 2], b"hi",
        [PROMOTE, A, 2],
        [CURRENT, A],
        [STAGE, A], short_key("z"),
        [ROTATE, A], short_key("xy"),
        [PRUNE, A, 1],
        [LIST_VERSIONS, A],
        [PROMOTE, A, 5],
        [VERIFY_TAGGED, 0, 0, A],
    ),
    # Keys a plain store would read back as sealed files: refused.
    "sealed-magic-keys": ops(
        [STORE, A], raw_key(b"\x89CDXSEAL\x01 then a key"),
        [STORE, A], short_key("x"),
        [STAGE, A], raw_key(b"\x89CDXSEAL"),
        [CREATE, B], raw_key(b"\x89CDXSEAM, one byte off"),
        [ROTATE, A], raw_key(b"\x89CDXSEA"),
        [LIST_VERSIONS, A],
        [LIST],
    ),
    "key-lengths": ops(
        [STORE, A, 254],
        [ROTATE, A, 255],
        [STORE, A, 0],
        [GENERATE, B, 0],
        [GENERATE, B, 255],
        [ROTATE, B], short_key("zz"),
        [PRUNE, B, 5],
        [CURRENT, B],
        [GET_VERSION, B, 12],
    ),
}


# ---- keyring: opcode byte, then arguments ----

(K_STORE, K_ROTATE, K_STAGE, K_PROMOTE, K_PRUNE, K_DELETE, K_LOAD, K_REFRESH, K_HMAC, K_TAGGED,
 K_VERIFY, K_VERIFY_TAGGED, K_CURRENT, K_DROP, K_STORE_OTHER) = range(15)
SHA256_RING, SHA384_RING, SHA512_RING = range(3)


def data(raw):
    """A data argument: length byte (mod 64), then the bytes."""
    assert len(raw) < 64
    return bytes([len(raw)]) + raw


KEYRING = {
    # Every write, each followed by a refresh and the calls it must match.
    "rotate-prune-stage-promote": ops(
        [K_STORE], short_key("x"),
        [K_LOAD, SHA256_RING],
        [K_TAGGED, SHA256_RING], data(b"msg"),
        [K_REFRESH, SHA256_RING],
        [K_ROTATE], short_key("y"),
        [K_TAGGED, SHA256_RING], data(b"msg"),
        [K_REFRESH, SHA256_RING],
        [K_TAGGED, SHA256_RING], data(b"msg"),
        [K_VERIFY_TAGGED, SHA256_RING, 0, 0],
        [K_PRUNE, 1],
        [K_REFRESH, SHA256_RING],
        [K_VERIFY_TAGGED, SHA256_RING, 0, 0],
        [K_STAGE], short_key("z"),
        [K_REFRESH, SHA256_RING],
        [K_CURRENT, SHA256_RING],
        [K_VERIFY_TAGGED, SHA256_RING, 1, 4, 3],
        [K_PROMOTE, 3],
        [K_REFRESH, SHA256_RING],
        [K_HMAC, SHA256_RING], data(b"hello"),
        [K_VERIFY, SHA256_RING, 0, 0],
        [K_CURRENT, SHA256_RING],
    ),
    # A delete revokes; a store brings the key back at version 1.
    "delete-store": ops(
        [K_STORE], short_key("xy"),
        [K_LOAD, SHA384_RING],
        [K_HMAC, SHA384_RING], data(b"a"),
        [K_DELETE],
        [K_HMAC, SHA384_RING], data(b"a"),
        [K_REFRESH, SHA384_RING],
        [K_HMAC, SHA384_RING], data(b"a"),
        [K_VERIFY, SHA384_RING, 0, 0],
        [K_REFRESH, SHA384_RING],
        [K_STORE], short_key("z"),
        [K_REFRESH, SHA384_RING],
        [K_CURRENT, SHA384_RING],
        [K_LOAD, SHA256_RING],
        [K_DELETE],
        [K_LOAD, SHA512_RING],
    ),
    # Three keyrings; altered MACs and tags; another key's writes.
    "three-rings-altered": ops(
        [K_LOAD, SHA512_RING],
        [K_STORE], raw_key(bytes(range(1, 33))),
        [K_LOAD, SHA256_RING],
        [K_LOAD, SHA384_RING],
        [K_LOAD, SHA512_RING],
        [K_TAGGED, SHA512_RING], data(b""),
        [K_TAGGED, SHA256_RING], data(b"x" * 40),
        [K_HMAC, SHA384_RING], data(b"y" * 7),
        [K_VERIFY_TAGGED, SHA512_RING, 0, 3],
        [K_VERIFY_TAGGED, SHA512_RING, 0, 4, 0],
        [K_VERIFY_TAGGED, SHA512_RING, 0, 5, 9],
        [K_VERIFY_TAGGED, SHA256_RING, 1, 6],
        [K_VERIFY_TAGGED, SHA384_RING, 0, 7],
        [K_VERIFY, SHA384_RING, 0, 5, 3],
        [K_VERIFY, SHA384_RING, 0, 6],
        [K_STORE_OTHER], short_key("x"),
        [K_REFRESH, SHA256_RING],
        [K_ROTATE], short_key("x"),
        [K_DROP, SHA384_RING],
        [K_REFRESH, SHA512_RING],
        [K_VERIFY_TAGGED, SHA512_RING, 0, 0],
    ),
    # A key a plain store would read back as a sealed file is refused.
    "sealed-magic-key": ops(
        [K_STORE], short_key("x"),
        [K_LOAD, SHA256_RING],
        [K_STORE], raw_key(b"\x89CDXSEAL\x05hello"),
        [K_STAGE], raw_key(b"\x89CDXSEAK"),
        [K_REFRESH, SHA256_RING],
        [K_CURRENT, SHA256_RING],
    ),
    # Arbitrary bytes as MACs and tags; refused writes.
    "arbitrary-tags": ops(
        [K_STORE], short_key("y"),
        [K_LOAD, SHA256_RING],
        [K_VERIFY_TAGGED, SHA256_RING, 0x80, 0], data(b"d"), bytes([37]), b"\x01\x00\x00\x00\x01" + bytes(32),
        [K_VERIFY_TAGGED, SHA256_RING, 0x80, 0], data(b""), bytes([0]),
        [K_VERIFY, SHA256_RING, 0x80, 0], data(b"d"), bytes([32]), bytes(32),
        [K_STORE], bytes([0]),
        [K_ROTATE], bytes([255]),
        [K_PROMOTE, 12],
        [K_PRUNE, 0],
        [K_REFRESH, SHA256_RING],
        [K_CURRENT, SHA256_RING],
    ),
}


def write(target, seeds):
    out = CORPUS / target
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    write("key_id", KEY_ID)
    write("hmac_hkdf", HMAC_HKDF)
    write("store_model", STORE_MODEL)
    write("keyring", KEYRING)
