#!/usr/bin/env python3
"""Convert Wycheproof HMAC or HKDF test-vector files (JSON) into a C header.

C has no JSON parser, so the build runs this script to turn the vectors into
static C arrays that a test program includes:

    vectors_to_c.py --output wycheproof_hmac_vectors.h hmac_sha256_test.json ...

All input files must use the same schema: either mac_test_schema_v1.json
(HMAC) or hkdf_test_schema_v1.json (HKDF). Hex strings become byte arrays;
an empty byte string becomes {NULL, 0}. The types used by the generated code
are declared in tests/wycheproof.h.

The script checks what it reads (test counts, hex, declared sizes against the
data, known result values) and fails loudly instead of dropping a vector.
"""

import argparse
import json
import os
import re
import sys

SCHEMAS = {
    "mac_test_schema_v1.json": "hmac",
    "hkdf_test_schema_v1.json": "hkdf",
}

# Maps the digest size in an algorithm name to the C constant.
ALGORITHMS = {
    "256": "CODOMYRMEX_SHA256",
    "384": "CODOMYRMEX_SHA384",
    "512": "CODOMYRMEX_SHA512",
}


class VectorError(Exception):
    """A vector file that does not look the way this script expects."""


def c_string(text):
    """A C string literal for text, with everything but plain ASCII escaped."""
    out = ['"']
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F and char != "?":  # '?' escaped: no trigraphs
            out.append(char)
        else:
            out.append("\\%03o" % byte)
    out.append('"')
    return "".join(out)


def decode_hex(value, what):
    if not isinstance(value, str) or len(value) % 2 != 0:
        raise VectorError("%s: not an even-length hex string" % what)
    try:
        return bytes.fromhex(value)
    except ValueError as err:
        raise VectorError("%s: %s" % (what, err)) from None


def algorithm_constant(name, path):
    match = re.search(r"SHA-?(256|384|512)$", name)
    if not match:
        raise VectorError("%s: unsupported algorithm %r" % (path, name))
    return ALGORITHMS[match.group(1)]


class Writer:
    """Collects byte arrays and test records, then renders the header."""

    def __init__(self):
        self.arrays = []  # C definitions of the byte arrays
        self.records = []  # C initializers of the test records
        self.files = []  # (file name, algorithm constant, numberOfTests)

    def bytes_ref(self, data):
        """A `struct wycheproof_bytes` initializer for data."""
        if not data:
            return "{NULL, 0}"
        name = "wycheproof_bytes_%d" % len(self.arrays)
        lines = []
        for start in range(0, len(data), 16):
            chunk = data[start:start + 16]
            lines.append("    " + ", ".join("0x%02x" % b for b in chunk) + ",")
        self.arrays.append(
            "static const uint8_t %s[%d] = {\n%s\n};\n"
            % (name, len(data), "\n".join(lines))
        )
        return "{%s, %d}" % (name, len(data))


def convert_hmac(writer, path, doc, alg):
    for group in doc["testGroups"]:
        key_bits = group["keySize"]
        tag_bits = group["tagSize"]
        for test in group["tests"]:
            what = "%s tcId %s" % (path, test["tcId"])
            key = decode_hex(test["key"], what + " key")
            msg = decode_hex(test["msg"], what + " msg")
            tag = decode_hex(test["tag"], what + " tag")
            if len(key) * 8 != key_bits:
                raise VectorError("%s: key has %d bits, keySize says %d"
                                  % (what, len(key) * 8, key_bits))
            if len(tag) * 8 != tag_bits:
                raise VectorError("%s: tag has %d bits, tagSize says %d"
                                  % (what, len(tag) * 8, tag_bits))
            writer.records.append(
                "    {%s, %s, %d, %s, %s, %s, %d, %d,\n     %s, %s, %s},"
                % (c_string(os.path.basename(path)), alg, test["tcId"],
                   c_string(test["comment"]),
                   c_string(" ".join(test["flags"])),
                   "true" if test["result"] == "valid" else "false",
                   key_bits, tag_bits,
                   writer.bytes_ref(key), writer.bytes_ref(msg),
                   writer.bytes_ref(tag)))


def convert_hkdf(writer, path, doc, alg):
    for group in doc["testGroups"]:
        for test in group["tests"]:
            what = "%s tcId %s" % (path, test["tcId"])
            ikm = decode_hex(test["ikm"], what + " ikm")
            salt = decode_hex(test["salt"], what + " salt")
            info = decode_hex(test["info"], what + " info")
            okm = decode_hex(test["okm"], what + " okm")
            size = test["size"]
            if not isinstance(size, int) or size < 0:
                raise VectorError("%s: bad size %r" % (what, size))
            if test["result"] == "valid" and len(okm) != size:
                raise VectorError("%s: okm has %d bytes, size says %d"
                                  % (what, len(okm), size))
            writer.records.append(
                "    {%s, %s, %d, %s, %s, %s, %d,\n     %s, %s, %s, %s},"
                % (c_string(os.path.basename(path)), alg, test["tcId"],
                   c_string(test["comment"]),
                   c_string(" ".join(test["flags"])),
                   "true" if test["result"] == "valid" else "false",
                   size,
                   writer.bytes_ref(ikm), writer.bytes_ref(salt),
                   writer.bytes_ref(info), writer.bytes_ref(okm)))


def convert(paths):
    writer = Writer()
    kind = None
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
        file_kind = SCHEMAS.get(doc.get("schema"))
        if file_kind is None:
            raise VectorError("%s: unknown schema %r" % (path, doc.get("schema")))
        if kind is not None and file_kind != kind:
            raise VectorError("%s: mixes %s and %s vectors" % (path, kind, file_kind))
        kind = file_kind
        alg = algorithm_constant(doc["algorithm"], path)
        tests = [t for g in doc["testGroups"] for t in g["tests"]]
        if len(tests) != doc["numberOfTests"]:
            raise VectorError("%s: %d tests, numberOfTests says %d"
                              % (path, len(tests), doc["numberOfTests"]))
        for test in tests:
            if test["result"] not in ("valid", "invalid"):
                raise VectorError("%s tcId %s: result %r is not handled"
                                  % (path, test["tcId"], test["result"]))
        writer.files.append((os.path.basename(path), alg, doc["numberOfTests"]))
        if kind == "hmac":
            convert_hmac(writer, path, doc, alg)
        else:
            convert_hkdf(writer, path, doc, alg)
    return kind, writer


def render(kind, writer, sources):
    upper = kind.upper()
    guard = "WYCHEPROOF_%s_VECTORS_H" % upper
    out = [
        "/* Generated by tools/vectors_to_c.py from %s. Do not edit. */\n"
        % ", ".join(os.path.basename(s) for s in sources),
        "#ifndef %s\n#define %s\n" % (guard, guard),
        '#include "wycheproof.h"\n',
    ]
    out.extend(writer.arrays)
    out.append("static const struct wycheproof_file wycheproof_%s_files[] = {" % kind)
    for name, alg, count in writer.files:
        out.append("    {%s, %s, %d}," % (c_string(name), alg, count))
    out.append("};\n")
    out.append("#define WYCHEPROOF_%s_FILE_COUNT %d\n" % (upper, len(writer.files)))
    out.append("static const struct wycheproof_%s_test wycheproof_%s_tests[] = {"
               % (kind, kind))
    out.extend(writer.records)
    out.append("};\n")
    out.append("#define WYCHEPROOF_%s_TEST_COUNT %d\n" % (upper, len(writer.records)))
    out.append("#endif /* %s */\n" % guard)
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="header to write")
    parser.add_argument("inputs", nargs="+", help="Wycheproof JSON files")
    args = parser.parse_args()
    try:
        kind, writer = convert(args.inputs)
    except (OSError, ValueError, KeyError, VectorError) as err:
        print("vectors_to_c.py: error: %s" % err, file=sys.stderr)
        return 1
    text = render(kind, writer, args.inputs)
    # Write then rename, so a failed run never leaves a half-written header
    # that the build would take as up to date.
    temp = args.output + ".tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
