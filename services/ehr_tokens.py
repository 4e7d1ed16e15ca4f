"""The EHR's signed JWT on every CDS Hooks call (CDS Hooks 2.0, "Trusting CDS Clients").

A token is accepted only when all of these hold, else ``TokenRefused`` (the API answers 401):

- its header names ``alg`` ES384 or RS384 (``none`` and every HMAC algorithm are refused before anything
  else) and a ``kid``;
- its ``iss`` is an allow-listed issuer, whose JWK Set (configured as a URL or a file) holds a key with that
  ``kid``, of that algorithm's key type, which verifies the signature;
- its ``aud`` is the URL of the endpoint called; ``exp``, ``iat`` and ``jti`` are present; it has not
  expired and was not issued in the future (with a small clock skew);
- its ``jti`` has not been accepted before from that issuer within the token's lifetime (kept in storage).

JWK Sets are read once and kept (``JwksCache``); an unknown ``kid`` reads the set again, at most once a
``refresh_seconds``, so that a rotated key is found without letting every bad token fetch the set.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jwt

from .clock import Clock, utc_now
from .errors import WriteConflict
from .unit_of_work import UnitOfWork

ALGORITHMS = ("ES384", "RS384")
KEY_TYPES = {"ES384": "EC", "RS384": "RSA"}
DEFAULT_SKEW_SECONDS = 60


class TokenRefused(Exception):
    """The EHR's token is missing or not acceptable; the message says why, without echoing the token."""


@dataclass(frozen=True)
class Issuer:
    """An allow-listed issuer and where its JWK Set is: an ``https://``/``http://`` URL or a file path."""

    iss: str
    jwks: str


def parse_issuers(text: str | None) -> dict[str, Issuer]:
    """The issuers configured as JSON ``{"<iss>": "<JWKS URL or file>", ...}``; empty when ``text`` is."""
    if not text or not text.strip():
        return {}
    document = json.loads(text)
    if not isinstance(document, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in document.items()):
        raise ValueError("CDS_HOOKS_ISSUERS must be a JSON object of issuer -> JWKS URL or file")
    return {iss: Issuer(iss, where) for iss, where in document.items()}


def _read_jwks(where: str, timeout: float = 5.0) -> dict:
    if where.startswith(("https://", "http://")):
        request = urllib.request.Request(where, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (allow-listed URL)
            return json.loads(response.read(1_000_000))
    return json.loads(Path(where).read_text())


class JwksCache:
    """The issuers' JWK Sets, read on first use and again for an unknown ``kid`` (at most once a
    ``refresh_seconds`` per issuer)."""

    def __init__(self, issuers: Mapping[str, Issuer], *, refresh_seconds: float = 60.0,
                 reader: Callable[[str], dict] = _read_jwks, monotonic: Callable[[], float] = time.monotonic):
        self.issuers = dict(issuers)
        self.refresh_seconds = refresh_seconds
        self._reader, self._monotonic = reader, monotonic
        self._sets: dict[str, tuple[dict, float]] = {}
        self._lock = threading.Lock()

    def key(self, iss: str, kid: str) -> dict | None:
        issuer = self.issuers.get(iss)
        if issuer is None:
            return None
        with self._lock:
            cached = self._sets.get(iss)
            found = _find(cached[0], kid) if cached else None
            if found is None and (cached is None or self._monotonic() - cached[1] >= self.refresh_seconds):
                try:
                    keys = self._reader(issuer.jwks)
                except (OSError, ValueError) as exc:
                    raise TokenRefused(f"The JWK Set of issuer {iss!r} cannot be read.") from exc
                self._sets[iss] = (keys, self._monotonic())
                found = _find(keys, kid)
        return found


def _find(jwks: dict, kid: str) -> dict | None:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    return next((k for k in keys or [] if isinstance(k, dict) and k.get("kid") == kid), None)


@dataclass(frozen=True)
class Accepted:
    """Who called: the issuer, and the tenant when the token names one."""

    iss: str
    tenant: str | None


def verify(token: str | None, *, audience: str, jwks: JwksCache, uow: UnitOfWork,
           skew_seconds: int = DEFAULT_SKEW_SECONDS, clock: Clock = utc_now, check_expiry: bool = True) -> Accepted:
    """Accept the EHR's token for a call to ``audience`` (see the module's docstring), recording its ``jti``.

    ``check_expiry`` is off only to verify a published example token whose ``exp`` has long passed.

    :raises TokenRefused: with the reason.
    """
    if not token:
        raise TokenRefused("Send the EHR's signed JWT: Authorization: Bearer <JWT>.")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRefused("The bearer token is not a JWT.") from exc
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise TokenRefused(f"The token's algorithm {alg!r} is refused; sign with ES384 or RS384.")
    kid, iss = header.get("kid"), unverified.get("iss")
    if not isinstance(kid, str) or not kid:
        raise TokenRefused("The token's header has no kid.")
    if not isinstance(iss, str) or iss not in jwks.issuers:
        raise TokenRefused("The token's issuer is not one this service trusts.")
    jwk = jwks.key(iss, kid)
    if jwk is None:
        raise TokenRefused(f"The issuer's JWK Set has no key {kid!r}.")
    if jwk.get("kty") != KEY_TYPES[alg] or jwk.get("alg") not in (None, alg):
        raise TokenRefused(f"Key {kid!r} is not a key for {alg}.")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
        claims = jwt.decode(token, key, algorithms=[alg], audience=audience, issuer=iss, leeway=skew_seconds,
                            options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_exp": check_expiry,
                                     "verify_iat": check_expiry})
    except jwt.InvalidAudienceError as exc:
        raise TokenRefused("The token's aud is not this endpoint's URL.") from exc
    except jwt.ExpiredSignatureError as exc:
        raise TokenRefused("The token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenRefused("The token was issued in the future.") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRefused(f"The token has no {exc.claim} claim.") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenRefused("The token's signature does not verify with the issuer's key.") from exc
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise TokenRefused("The token's jti must be a string of 1 to 255 characters.")
    now = clock()
    exp = claims["exp"]
    expires_at = datetime.fromtimestamp(float(exp) + skew_seconds, UTC) if check_expiry else \
        datetime.fromtimestamp(now.timestamp() + 3600, UTC)
    with uow:
        try:
            fresh = uow.token_ids.claim(iss, jti, expires_at, now)
            uow.commit()
        except WriteConflict:
            uow.rollback()
            fresh = False
    if not fresh:
        raise TokenRefused("The token's jti was used before: a token is accepted once.")
    tenant = claims.get("tenant")
    return Accepted(iss, tenant if isinstance(tenant, str) else None)
