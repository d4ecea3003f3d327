"""Short-lived access tokens for partners: OAuth 2.0 client credentials (RFC 6749 §4.4).

A partner's client id is its name and its client secret its API key; the token endpoint
(``POST /aas/token``) gives a token good for :data:`TOKEN_S` seconds, signed with a key kept in
``<home>/share/token.key`` by itsdangerous (Pallets' signing library, which Pilotline's web
sessions use too). The token is opaque to the partner (OAuth does not prescribe JWTs) and names the
partner and the first characters of its key's hash, so a new key or a removed partner ends every
token given before.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from pilotline import clock

TOKEN_S = 300


class _Signer(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())  # Pilotline's clock (tests fix it)


class Tokens:
    """Issues and reads tokens; the signing key is made when the first token is asked for."""

    def __init__(self, home: Path) -> None:
        self.path = home / "share" / "token.key"
        self._s: URLSafeTimedSerializer | None = None

    def _serializer(self) -> URLSafeTimedSerializer:
        if self._s is None:
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text(secrets.token_hex(32))
                self.path.chmod(0o600)
            self._s = URLSafeTimedSerializer(
                self.path.read_text().strip(), salt="pilotline-share-token", signer=_Signer
            )
        return self._s

    def issue(self, partner: str, key_hash: str) -> str:
        return "plt." + self._serializer().dumps({"p": partner, "k": key_hash[:16]})

    def read(self, token: str) -> tuple[str, str] | None:
        """(partner, start of its key's hash) of a valid, unexpired token, else None."""
        if not token.startswith("plt.") or not self.path.exists():
            return None
        try:
            data = self._serializer().loads(token[4:], max_age=TOKEN_S)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("p"), str):
            return None
        return data["p"], str(data.get("k", ""))
