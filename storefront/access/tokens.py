"""Bearer JWTs from an identity provider, validated here, without calling it.

Off unless ``STOREFRONT_JWT["ISSUER"]`` and ``["KEY"]`` are set (see settings.py
and docs/configuration.md). Then a bearer token shaped like a JWT (three
dot-separated parts) is checked: the signature against the configured key with
the configured algorithms only (never the algorithm the token names for
itself, so ``none`` or an HS/RS swap cannot get in), ``iss``, ``aud``, and a
required ``exp`` and ``sub``, with ``LEEWAY`` seconds for clock skew on
``exp``/``nbf``/``iat``. Any valid token may read; one whose ``scope`` claim
(space-separated, as in OAuth 2) holds ``WRITE_SCOPE`` may also write.
Checking costs tens of microseconds of CPU and no I/O, so it runs on the loop.
"""

from __future__ import annotations

from typing import Any

import jwt

from storefront.access.conf import conf
from storefront.access.keys import Credential
from storefront.access.models import Scope

__all__ = ["check_token", "looks_like_jwt"]


def _config() -> dict[str, Any] | None:
    config = conf.jwt
    return config if config["ISSUER"] and config["KEY"] else None


def looks_like_jwt(token: str) -> bool:
    """A JWT when JWTs are configured and the token has a JWT's shape; API keys never do."""
    return token.count(".") == 2 and _config() is not None


def check_token(token: str) -> Credential | None:
    config = _config()
    if config is None:
        return None
    try:
        claims = jwt.decode(
            token,
            config["KEY"],
            algorithms=list(config["ALGORITHMS"]),
            audience=config["AUDIENCE"] or None,
            issuer=config["ISSUER"],
            leeway=float(config["LEEWAY"]),
            options={"require": ["exp", "iss", "sub"]},
        )
    except jwt.InvalidTokenError:
        return None
    scopes = str(claims.get("scope", "")).split()
    write = config["WRITE_SCOPE"] in scopes
    subject = str(claims["sub"])
    return Credential(
        identity=f"jwt:{subject}",
        name=subject,
        scope=Scope.READ_WRITE if write else Scope.READ,
    )
