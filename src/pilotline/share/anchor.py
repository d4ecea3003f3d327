"""Signed heads of the record of reads: an anchor that someone who can write the data directory
cannot forge.

The hash chain (:mod:`pilotline.share.readlog`) shows any edit, unless every later hash is
recomputed too — which anyone who can write the store and ``reads.head`` can do. So the server
signs the chain's head (its newest record's number and hash) with an Ed25519 key kept **outside**
the data directory: the file named by the environment variable ``PILOTLINE_SHARE_SIGNING_KEY``
(set where the server starts, such as its systemd unit; a key inside the data directory is
refused). Signed heads are appended to ``<home>/share/reads.anchors``, at most once a minute
while partners read, at exit, and on ``pilotline share audit anchor``.
:func:`pilotline.share.readlog.verify` checks each signed head against the chain: a record
rewritten before a signed head, a signed head edited or forged, or the anchors deleted, is named.

``pilotline share audit keygen FILE`` makes a key and prints its public half, to keep elsewhere
(and to give ``share audit verify --public-key`` on another machine).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pilotline import clock
from pilotline.errors import InputError, SettingsError

ENV = "PILOTLINE_SHARE_SIGNING_KEY"
#: A head is signed at most this often while partners read (and at exit, and on demand).
EVERY_S = 60.0
_DOMAIN = "pilotline share reads head v1"
_lock = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    """One signed head: record ``seq`` had ``hash`` when it was signed ``at``."""

    line: int
    seq: int
    hash: str
    at: str
    key: str  # the signing key's fingerprint
    sig: str

    def message(self) -> bytes:
        return f"{_DOMAIN}\n{self.seq}\n{self.hash}\n{self.at}".encode()


def anchors_file(home: Path) -> Path:
    return home / "share" / "reads.anchors"


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_text(public: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 bytes (what ``--public-key`` takes)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public(text: str) -> Ed25519PublicKey:
    """A public key given as base64 of 32 bytes, or a PEM file holding one."""
    text = text.strip()
    path = Path(text)
    try:
        if len(text) < 1000 and path.is_file():
            data = path.read_bytes()
            key = serialization.load_pem_public_key(data)
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
            return key
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, OSError, TypeError):
        raise InputError(
            f"--public-key {text[:60]!r}: give the key 'share audit keygen' printed (base64 of "
            "32 bytes) or a PEM file holding an Ed25519 public key"
        ) from None


def keygen(path: Path, home: Path) -> Ed25519PublicKey:
    """Write a new signing key to ``path`` (readable by its owner only); returns its public half."""
    _outside(path, home)
    if path.exists():
        raise InputError(f"{path} exists already; a key is never overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key.public_key()


def _outside(path: Path, home: Path) -> None:
    p, h = path.expanduser().resolve(), home.expanduser().resolve()
    if p == h or h in p.parents:
        raise SettingsError(
            f"{ENV}: the signing key {path} is inside the data directory {home}; whoever can "
            "write the data directory could then sign a rewritten record. Keep it elsewhere "
            "(such as /etc/pilotline/audit.key, readable by the server's user only)"
        )


@dataclass
class _Pinned:
    """The key a process first read from a file for a data directory."""

    key: Ed25519PrivateKey
    raw: bytes  # the file as last read holding this key
    refused: bytes | None = None  # a change already logged


#: (data directory, key file) → the key this process first read there: a server keeps signing
#: with the key it started with (a different key put in the file meanwhile is refused).
_pinned: dict[tuple[str, str], _Pinned] = {}


def _parse(raw: bytes, name: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise SettingsError(f"{ENV}={name}: not an unencrypted PEM private key (make one with "
                            "'pilotline share audit keygen FILE')") from None  # fmt: skip
    if not isinstance(key, Ed25519PrivateKey):
        raise SettingsError(f"{ENV}={name}: not an Ed25519 key")
    return key


def signing_key(home: Path) -> Ed25519PrivateKey | None:
    """The key named by ``PILOTLINE_SHARE_SIGNING_KEY``, or None when it is not set.

    Read the first time a process asks for it for ``home`` (``pilotline serve`` does at start,
    so a missing, unreadable or misplaced key stops it there), and refused then when the newest
    signed head in ``reads.anchors`` names another key: ``share audit verify`` checks every
    head with one key, so a second key would make the record look rewritten. After that the
    same key is given for as long as the process lives. The file is read again on each call
    (a few hundred bytes, at most once a minute while serving and on a partner's
    ``GET /aas/reads``): gone or unreadable is an error (nothing is signed, as when no key is
    set); holding another key, or none, is refused — logged once, and the key read first is
    given. A new key takes effect only when the process starts again, and only for a record no
    other key has signed."""
    name = os.environ.get(ENV, "").strip()
    if not name:
        return None
    path = Path(name)
    _outside(path, home)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"{ENV}={name}: cannot read the signing key: {exc}") from None
    where = (str(home.expanduser().resolve()), str(path.expanduser().resolve()))
    pinned = _pinned.get(where)
    if pinned is not None and raw in (pinned.raw, pinned.refused):
        return pinned.key
    if pinned is None:
        key = _parse(raw, name)
        _first_key(home, key, name)
        _pinned[where] = _Pinned(key, raw)
        return key
    mine = fingerprint(pinned.key.public_key())
    try:
        now = fingerprint(_parse(raw, name).public_key())
    except SettingsError as exc:
        why = str(exc).removeprefix(f"{ENV}={name}: ")
    else:
        if now == mine:  # written again in another form: the same key
            pinned.raw = raw
            return pinned.key
        why = f"it now holds key {now}"
    pinned.refused = raw
    log.warning("%s: the signing key changed while the server runs (%s); it goes on signing "
                "with key %s, read when it started. A new key is taken only at a start, and "
                "only for a record no other key has signed", name, why, mine)  # fmt: skip
    return pinned.key


def _first_key(home: Path, key: Ed25519PrivateKey, name: str) -> None:
    """Refuse a key other than the one that signed the newest head of this record."""
    try:
        heads = read_anchors(home)
    except AnchorError:
        return  # edited anchors: 'share audit verify' names them
    mine = fingerprint(key.public_key())
    if heads and heads[-1].key != mine:
        raise SettingsError(
            f"{ENV}={name}: key {mine} did not sign this record: its newest signed head "
            f"({heads[-1].at}, {anchors_file(home).name}) names key {heads[-1].key}, and "
            "'share audit verify' checks every head with one key. Set the key that signed them "
            f"(or unset {ENV} to serve without signing)"
        )


def sign(home: Path, key: Ed25519PrivateKey, seq: int, head_hash: str) -> Anchor:
    """Sign the head (record ``seq`` with ``head_hash``) and append it to the anchors."""
    at = clock.now().astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    unsigned = Anchor(0, seq, head_hash, at, fingerprint(key.public_key()), "")
    sig = base64.b64encode(key.sign(unsigned.message())).decode()
    line = json.dumps({"seq": seq, "hash": head_hash, "at": at, "key": unsigned.key, "sig": sig})
    path = anchors_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    return Anchor(0, seq, head_hash, at, unsigned.key, sig)


class AnchorError(Exception):
    """A line of the anchors that is not a signed head (``line``: its number, from 1)."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(why)
        self.line, self.why = line, why


def read_anchors(home: Path) -> list[Anchor]:
    """The signed heads, oldest first; a line that is not one raises :class:`AnchorError`."""
    path = anchors_file(home)
    if not path.exists():
        return []
    out = []
    for n, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        try:
            o = json.loads(text)
            a = Anchor(n, int(o["seq"]), str(o["hash"]), str(o["at"]), str(o["key"]), str(o["sig"]))
        except (ValueError, KeyError, TypeError, OverflowError):  # 1e400: int() overflows
            raise AnchorError(n, f"line {n} of {path.name} is not a signed head") from None
        out.append(a)
    return out


def check(anchor: Anchor, public: Ed25519PublicKey) -> str | None:
    """Why ``anchor`` is not a head signed by ``public``, or None when it is."""
    if anchor.key != fingerprint(public):
        return (f"the head signed {anchor.at} names key {anchor.key}, not the key given "
                f"({fingerprint(public)})")  # fmt: skip
    try:
        public.verify(base64.b64decode(anchor.sig, validate=True), anchor.message())
    except (InvalidSignature, ValueError):
        return f"the head signed {anchor.at} does not carry a valid signature (it was edited)"
    return None
