"""Interoperability of codomyrmex-keys with Google Tink's MAC primitive.

Run by scripts/test-tink.sh with the real `tink` package:

    python interop.py PATH/TO/codomyrmex-keys

1. Our keys to Tink: keys with retained and staged versions are exported
   with `export --format tink-keyset` (SHA-256, SHA-384, SHA-512); Tink loads
   each keyset, verifies the tagged MACs the tool made with every version,
   rejects tampered ones, and its own MAC equals ours byte for byte.
2. Tink's keys to us: Tink generates HMAC keys (SHA-256 and SHA-512) and
   computes MACs with each; `import --format tink-keyset` stores the keyset
   and `verify --tagged` accepts Tink's MACs and rejects tampered ones.
   Tink draws key ids at random; until the key store can store chosen
   version numbers the tool refuses such a keyset with a known message, so
   the same keys are also imported with ids renumbered 1..n (a keyset Tink
   loads and uses as any other).
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile

import tink
from tink import mac
from tink import secret_key_access

HMAC_TEMPLATES = {
    "sha256": mac.mac_key_templates.HMAC_SHA256_256BITTAG,
    "sha512": mac.mac_key_templates.HMAC_SHA512_512BITTAG,
}


class Checks:
    """Counts checks; a failed one is reported and counted, not raised."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAILED: {what}", file=sys.stderr)


class Tool:
    """Runs codomyrmex-keys on one key directory."""

    def __init__(self, binary, key_dir):
        self.binary = binary
        self.key_dir = key_dir

    def run(self, *args):
        env = {k: v for k, v in os.environ.items() if k != "CODOMYRMEX_KEY_DIR"}
        return subprocess.run(
            [self.binary, "--dir", self.key_dir, *args],
            capture_output=True,
            env=env,
            check=False,
        )

    def ok(self, *args):
        done = self.run(*args)
        if done.returncode != 0:
            raise RuntimeError(f"{args}: exit {done.returncode}: {done.stderr.decode()}")
        return done.stdout.decode()


def load_keyset(text):
    return tink.json_proto_keyset_format.parse(text, secret_key_access.TOKEN)


def tink_verifies(primitive, tag, data):
    try:
        primitive.verify_mac(tag, data)
        return True
    except tink.TinkError:
        return False


def tampered(tag):
    """The tag with the last byte of its HMAC flipped."""
    return tag[:-1] + bytes([tag[-1] ^ 1])


def ours_to_tink(tool, tmp, checks):
    data_path = os.path.join(tmp, "ours.data")
    data = b"signed by codomyrmex-keys\x00\xff"
    with open(data_path, "wb") as f:
        f.write(data)
    for alg, key_len in [("sha256", "32"), ("sha384", "48"), ("sha512", "64")]:
        key_id = f"ours-{alg}"
        tool.ok("generate", key_id, "--bytes", key_len)
        tool.ok("rotate", key_id)
        tool.ok("rotate", key_id)
        tool.ok("stage", key_id)
        tags = {
            version: bytes.fromhex(
                tool.ok("hmac", key_id, data_path, "--tagged", "--alg", alg, "--version", str(version))
            )
            for version in (1, 2, 3, 4)
        }
        out = os.path.join(tmp, f"{key_id}.json")
        tool.ok("export", "--format", "tink-keyset", "--alg", alg, "--out", out, key_id)
        with open(out) as f:
            handle = load_keyset(f.read())
        info = handle.keyset_info()
        checks.check(info.primary_key_id == 3, f"{alg}: primary key id {info.primary_key_id}")
        ids = sorted(key.key_id for key in info.key_info)
        checks.check(ids == [1, 2, 3, 4], f"{alg}: key ids {ids}")
        primitive = handle.primitive(mac.Mac)
        for version, tag in tags.items():
            checks.check(tink_verifies(primitive, tag, data), f"{alg}: Tink verifies our version {version} tag")
            checks.check(not tink_verifies(primitive, tampered(tag), data), f"{alg}: tampered v{version}")
            checks.check(not tink_verifies(primitive, tag, data + b"!"), f"{alg}: other data v{version}")
        theirs = primitive.compute_mac(data)
        checks.check(theirs == tags[3], f"{alg}: Tink's MAC equals ours byte for byte")


def tink_keyset_json(keys, primary_id):
    """A cleartext JSON keyset of `keys` (entries of Tink's JSON keysets),
    checked by loading it with Tink."""
    text = json.dumps({"primaryKeyId": primary_id, "key": keys}, indent=2)
    load_keyset(text)
    return text


def generate_tink_keys():
    """Tink's own new keys, SHA-256, SHA-512, SHA-256, SHA-512: (alg, the key's
    entry in Tink's JSON serialization of its new keyset)."""
    keys = []
    for alg in ["sha256", "sha512", "sha256", "sha512"]:
        handle = tink.new_keyset_handle(HMAC_TEMPLATES[alg])
        text = tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
        keys.append((alg, json.loads(text)["key"][0]))
    return keys


def tink_macs(keys, data):
    """Tink's MAC of `data` with each key (made primary in turn)."""
    entries = [key for _, key in keys]
    return [
        load_keyset(tink_keyset_json(entries, key["keyId"])).primitive(mac.Mac).compute_mac(data)
        for key in entries
    ]


def check_imported(tool, key_id, keys, macs, data_path, checks):
    """Checks the key store's view of the imported keyset (primary: the
    third key) and that Tink's MACs verify there."""
    ids = sorted(key["keyId"] for _, key in keys)
    primary = keys[2][1]["keyId"]
    listed = {
        "retained": ",".join(str(i) for i in ids if i < primary) or "-",
        "staged": ",".join(str(i) for i in ids if i > primary) or "-",
    }
    expected = f"{key_id} current={primary} retained={listed['retained']} staged={listed['staged']}\n"
    lines = tool.ok("status", key_id)
    checks.check(lines == expected, f"status: {lines!r}, expected {expected!r}")
    for (alg, key), tag in zip(keys, macs):
        good = tool.run("verify", key_id, tag.hex(), data_path, "--tagged", "--alg", alg, "--quiet")
        checks.check(good.returncode == 0, f"we verify Tink's tag of key {key['keyId']} ({alg})")
        bad = tool.run("verify", key_id, tampered(tag).hex(), data_path, "--tagged", "--alg", alg)
        checks.check(bad.returncode == 1, f"we reject Tink's tampered tag of key {key['keyId']}")
        other = "sha512" if alg == "sha256" else "sha256"
        wrong = tool.run("verify", key_id, tag.hex(), data_path, "--tagged", "--alg", other)
        checks.check(wrong.returncode == 1, f"we reject key {key['keyId']}'s tag under {other}")
    with open(data_path, "rb") as f:
        changed = f.read() + b"!"
    done = subprocess.run(
        [tool.binary, "--dir", tool.key_dir, "verify", key_id, macs[2].hex(), "--tagged"],
        input=changed, capture_output=True, check=False,
    )
    checks.check(done.returncode == 1, "we reject Tink's tag over other data")
    ours = bytes.fromhex(tool.ok("hmac", key_id, data_path, "--tagged"))
    checks.check(ours == macs[2], "our MAC with the imported primary equals Tink's")


def tink_to_ours(tool, tmp, checks):
    data = b"signed by Tink\n"
    data_path = os.path.join(tmp, "tink.data")
    with open(data_path, "wb") as f:
        f.write(data)
    keys = generate_tink_keys()
    # Tink's random ids: imported as they are, as version numbers.
    random_path = os.path.join(tmp, "random.json")
    with open(random_path, "w") as f:
        f.write(tink_keyset_json([k for _, k in keys], keys[2][1]["keyId"]))
    done = tool.run("import", "tink-random", random_path, "--format", "tink-keyset")
    checks.check(done.returncode == 0, f"random ids imported: {done.stderr.decode()}")
    ids = sorted(k["keyId"] for _, k in keys)
    print(f"tink interop: Tink's random key ids {ids} imported as versions")
    # The same keys renumbered 1..4, primary 3: Tink computes the MACs.
    renumbered = []
    for number, (alg, key) in enumerate(keys, start=1):
        renumbered.append((alg, dict(key, keyId=number)))
    macs = tink_macs(renumbered, data)
    path = os.path.join(tmp, "renumbered.json")
    with open(path, "w") as f:
        f.write(tink_keyset_json([k for _, k in renumbered], 3))
    printed = tool.ok("import", "tink-keys", path, "--format", "tink-keyset")
    expected = "1 sha256\n2 sha512\n3 sha256 (current)\n4 sha512 (staged)\n"
    checks.check(printed == expected, f"import printed {printed!r}")
    check_imported(tool, "tink-keys", renumbered, macs, data_path, checks)
    check_imported(tool, "tink-random", keys, tink_macs(keys, data), data_path, checks)
    # Keys with another output prefix are refused.
    raw_key = dict(keys[0][1], keyId=1, outputPrefixType="RAW")
    raw_path = os.path.join(tmp, "raw.json")
    with open(raw_path, "w") as f:
        f.write(tink_keyset_json([raw_key], 1))
    refused = tool.run("import", "tink-raw", raw_path, "--format", "tink-keyset")
    checks.check(
        refused.returncode == 12 and b"output prefix RAW" in refused.stderr,
        f"RAW prefix refused: {refused.stderr.decode()}",
    )


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: interop.py PATH/TO/codomyrmex-keys")
    mac.register()
    checks = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        tool = Tool(os.path.abspath(sys.argv[1]), os.path.join(tmp, "keys"))
        ours_to_tink(tool, tmp, checks)
        tink_to_ours(tool, tmp, checks)
    print(f"tink interop, against tink {importlib.metadata.version('tink')}:")
    print(f"{checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
