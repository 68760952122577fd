"""Cross-language check, the protocol every binding (Go, Ruby, Node, Python) implements.

``cross.sh write DIR``
    stores key ``cross-python`` = UTF-8 ``"cross-language key from python"``
    (replacing any existing one) and writes the lowercase hex of
    HMAC-SHA256(``"cross-language message"``) made by the key manager to
    ``DIR/cross-python.mac``, of its tagged MAC to ``DIR/cross-python.tag`` and
    of the tagged MAC made by a keyring of the key (SHA-256) to
    ``DIR/cross-python.ktag``, each followed by a newline.
``cross.sh verify DIR``
    for every ``DIR/cross-<lang>.mac``: checks the MAC with the key manager
    (hmac_verify), the ``.tag`` and ``.ktag`` files with hmac_verify_tagged,
    the MAC with the one-shot hmac_verify under the key read back with get,
    and the MAC, ``.tag`` and ``.ktag`` with a keyring of the key (SHA-256);
    prints one line per language; exits nonzero on any failure or when no
    ``.mac`` file is found.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import codomyrmex_keys as keys

LANG = "python"
MESSAGE = b"cross-language message"
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_MAC_FILE = re.compile(r"cross-(.+)\.mac")


def key_id_of(lang: str) -> str:
    return f"cross-{lang}"


def key_bytes_of(lang: str) -> bytes:
    return f"cross-language key from {lang}".encode()


def read_hex(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if not _HEX.fullmatch(text):
        raise ValueError(f"{path.name} is not lowercase hex")
    return bytes.fromhex(text)


def write_text(path: Path, text: str) -> None:
    """Writes ``text`` to ``path``, created private (0600) like the key files beside it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)


def write(directory: Path) -> int:
    key_id = key_id_of(LANG)
    with keys.KeyManager.open(directory) as km:
        km.store(key_id, key_bytes_of(LANG))
        mac = km.hmac(key_id, MESSAGE, keys.HashAlg.SHA256)
        tag = km.hmac_tagged(key_id, MESSAGE, keys.HashAlg.SHA256)
        with km.load(key_id, keys.HashAlg.SHA256) as ring:
            ring_tag = ring.hmac_tagged(MESSAGE)
        write_text(directory / f"{key_id}.mac", mac.hex() + "\n")
        write_text(directory / f"{key_id}.tag", tag.hex() + "\n")
        write_text(directory / f"{key_id}.ktag", ring_tag.hex() + "\n")
        print(f"wrote {key_id}.mac, .tag and .ktag (key version {km.current_version(key_id)})")
    return 0


def verify_one(km: keys.KeyManager, directory: Path, lang: str) -> list[str]:
    key_id = key_id_of(lang)
    problems: list[str] = []

    def attempt(what: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except keys.CodomyrmexError as err:
            problems.append(f"{what}: {err.code} {err.message}")
        except (OSError, ValueError) as err:
            problems.append(f"{what}: {err}")

    def read(suffix: str) -> bytes | None:
        try:
            return read_hex(directory / f"{key_id}.{suffix}")
        except (OSError, ValueError) as err:
            problems.append(f"read .{suffix}: {err}")
            return None

    mac, tag, ring_tag = read("mac"), read("tag"), read("ktag")

    if mac is not None:
        expected_mac = mac
        attempt("key manager hmac_verify", lambda: km.hmac_verify(key_id, MESSAGE, expected_mac, keys.HashAlg.SHA256))

        def one_shot() -> None:
            key = km.get(key_id, mutable=True)
            try:
                if key != key_bytes_of(lang):
                    raise ValueError("stored key is not the protocol key")
                keys.hmac_verify(key, MESSAGE, expected_mac, keys.HashAlg.SHA256)
            finally:
                keys.secure_zero(key)

        attempt("get + one-shot hmac_verify", one_shot)
    tags = {name: t for name, t in ((".tag", tag), (".ktag", ring_tag)) if t is not None}
    for name, t in tags.items():
        attempt(f"hmac_verify_tagged {name}", partial(km.hmac_verify_tagged, key_id, MESSAGE, t, keys.HashAlg.SHA256))

    def with_keyring() -> None:
        with km.load(key_id, keys.HashAlg.SHA256) as ring:
            if mac is not None:
                ring.hmac_verify(MESSAGE, mac)
            for t in tags.values():
                ring.hmac_verify_tagged(MESSAGE, t)

    attempt("keyring", with_keyring)
    return problems


def verify(directory: Path) -> int:
    langs = sorted(m.group(1) for p in directory.iterdir() if (m := _MAC_FILE.fullmatch(p.name)))
    if not langs:
        print(f"FAIL: no cross-*.mac file in {directory}", file=sys.stderr)
        return 1
    failures = 0
    with keys.KeyManager.open(directory) as km:
        for lang in langs:
            problems = verify_one(km, directory, lang)
            if problems:
                failures += 1
                print(f"FAIL {lang}: {'; '.join(problems)} (checked by {LANG})")
            else:
                print(
                    f"ok   {lang}: hmac_verify, hmac_verify_tagged, get + one-shot hmac_verify, keyring (checked by {LANG})"
                )
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("write", "verify"):
        print("usage: cross.sh write|verify DIR", file=sys.stderr)
        return 2
    mode, directory = argv[0], Path(argv[1])
    try:
        return write(directory) if mode == "write" else verify(directory)
    except (keys.CodomyrmexError, OSError) as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
