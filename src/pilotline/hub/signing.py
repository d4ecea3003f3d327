"""Firm keys and signed envelopes (Ed25519, from ``cryptography``).

A firm makes its key once (:func:`new_key`); the coordinator registers the public half with the
firm's record at the hub. Every request a firm makes is an envelope — firm, action, time, a
one-time nonce and the payload — serialised once to bytes and signed; the hub checks the
signature against the registered key, that the time is within :data:`SKEW` of its own clock, and
that the nonce was never seen (so a captured request cannot be replayed).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pilotline import clock
from pilotline.errors import InputError
from pilotline.hub.plaintext import check_json

HEADER = "X-Pilotline-Signature"
SKEW = dt.timedelta(minutes=10)
NONCE = re.compile(r"[A-Za-z0-9_-]{8,128}")
#: Envelope and item fields that are one line of text (no tab or newline either).
ONE_LINE = ("firm", "action", "sent_at", "nonce", "id", "kind", "person", "given_at",
            "text_version", "text_sha256", "period", "plant", "round", "step", "design",
            "metric", "decision")  # fmt: skip


def new_key() -> bytes:
    """A new private key, PEM (keep it in the firm's data directory, readable by the owner only)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("the hub key file is not an Ed25519 private key")
    return key


def public_of(pem: bytes) -> str:
    """The public half, as the 43-character base64url text a coordinator registers."""
    raw = (
        _private(pem)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_public(text: str) -> str:
    """A registered public key, checked: 32 bytes in base64url."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
        Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError):
        raise InputError(
            f"public key {text[:60]!r} is not an Ed25519 key; expected the 43-character text "
            "that 'pilotline share campaign key' prints"
        ) from None
    return text.strip()


def envelope(firm: str, action: str, payload: Any, pem: bytes) -> tuple[bytes, str]:
    """(body, signature) for one request."""
    body = json.dumps(
        {
            "firm": firm,
            "action": action,
            "sent_at": clock.now().isoformat(),
            "nonce": secrets.token_hex(16),
            "payload": payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    sig = _private(pem).sign(body)
    return body, base64.urlsafe_b64encode(sig).decode().rstrip("=")


class Refused(InputError):
    """A request the hub does not accept (unknown firm, wrong key, stale or replayed)."""


def opened(body: bytes, signature: str, public_key: str, action: str) -> dict[str, Any]:
    """The envelope, once its signature, action and time are checked (the nonce is the store's
    job). Raises :class:`Refused` naming what is wrong."""
    try:
        raw = base64.urlsafe_b64decode(public_key + "=" * (-len(public_key) % 4))
        sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, body)
    except (InvalidSignature, ValueError, TypeError):
        raise Refused("the signature does not match the firm's registered key") from None
    env = well_formed(json.loads(body))
    if env.get("action") != action:
        raise Refused(f"signed for {env.get('action')!r}, sent to {action!r}")
    try:
        sent = dt.datetime.fromisoformat(str(env.get("sent_at")))
    except ValueError:
        raise Refused("the request's time cannot be read") from None
    if sent.tzinfo is None or abs(clock.now() - sent) > SKEW:
        raise Refused("the request's time is more than 10 minutes from the hub's clock")
    return env


def well_formed(env: Any) -> dict[str, Any]:
    """A parsed envelope's shape, before anything reads it: an object whose texts hold no
    control characters or lone surrogates, firm, action and sent_at that are texts, a nonce of
    8 to 128 letters, digits, '-' or '_', and a payload that is an object (or null). :class:`InputError` names the field."""
    if not isinstance(env, dict):
        raise InputError("the request is not a JSON object (an envelope with firm, action, "
                         "sent_at, nonce and payload)")  # fmt: skip
    check_json(env, "request", one_line=ONE_LINE)
    for field in ("firm", "action", "sent_at"):  # a number here reached the database as one
        if not isinstance(env.get(field), str):
            raise InputError(f"request field {field!r}: expected text")
    nonce = env.get("nonce")
    if not isinstance(nonce, str) or not NONCE.fullmatch(nonce):
        raise InputError("request field 'nonce': expected a one-time text of 8 to 128 letters, "
                         "digits, '-' or '_'")  # fmt: skip
    if not isinstance(env.get("payload"), dict | None):
        raise InputError("request field 'payload': expected an object (or null)")
    return env
