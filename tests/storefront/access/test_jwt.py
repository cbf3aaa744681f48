"""Bearer JWTs, when configured: validated locally (signature, issuer, audience, expiry, leeway)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from storefront.asgi import application
from storefront.orders.models import Customer, Order
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "a-test-signing-secret-of-at-least-32-bytes!"
ISSUER = "https://id.example"


@pytest.fixture
def hs256(settings):
    settings.STOREFRONT_JWT = {
        "ISSUER": ISSUER,
        "AUDIENCE": "storefront",
        "KEY": SECRET,
        "ALGORITHMS": ["HS256"],
        "LEEWAY": 30,
        "WRITE_SCOPE": "storefront:write",
    }


def b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def token(key=SECRET, algorithm="HS256", **overrides):
    claims = {
        "iss": ISSUER,
        "aud": "storefront",
        "sub": "svc-reporting",
        "exp": int(time.time()) + 300,
        **overrides,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm)


async def call(bearer, path="/api/orders/stats/", **kwargs):
    return await asgi_request(
        application, path, headers={"authorization": f"Bearer {bearer}"}, **kwargs
    )


async def test_a_valid_token_reads(hs256):
    assert (await call(token())).status == 200


async def test_a_token_with_the_write_scope_may_write_and_one_without_may_not(hs256):
    customer = await Customer.objects.acreate(name="Ada", email="ada@example.com")
    body = b'{"customer": %d, "items": [{"sku": "T", "qty": 1, "unit_price": "1"}]}' % customer.pk
    headers = {"content-type": "application/json"}
    reader = await asgi_request(
        application,
        "/api/orders/",
        method="POST",
        body=body,
        headers={**headers, "authorization": f"Bearer {token(scope='storefront:read')}"},
    )
    assert reader.status == 403
    writer = await asgi_request(
        application,
        "/api/orders/",
        method="POST",
        body=body,
        headers={
            **headers,
            "authorization": f"Bearer {token(scope='storefront:read storefront:write')}",
        },
    )
    assert writer.status == 201
    assert await Order.objects.acount() == 1


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"exp": int(time.time()) - 120}, id="expired beyond the leeway"),
        pytest.param({"aud": "another-service"}, id="wrong audience"),
        pytest.param({"iss": "https://evil.example"}, id="wrong issuer"),
        pytest.param({"sub": None}, id="no subject"),
        pytest.param({"exp": None}, id="no expiry"),
        pytest.param({"nbf": int(time.time()) + 600}, id="not yet valid"),
    ],
)
async def test_a_token_failing_a_claim_is_a_401(hs256, bad):
    response = await call(token(**bad))
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_an_expiry_within_the_leeway_is_tolerated(hs256):
    assert (await call(token(exp=int(time.time()) - 10))).status == 200


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda: token(key="another-secret-of-at-least-32-bytes!!"), id="other key"),
        pytest.param(lambda: token(key=None, algorithm="none"), id="alg none"),
        pytest.param(lambda: token() + "x", id="tampered signature"),
    ],
)
async def test_a_forged_token_is_a_401(hs256, forged):
    assert (await call(forged())).status == 401


async def test_tokens_are_refused_when_jwt_is_not_configured(settings):
    settings.STOREFRONT_JWT = {"ISSUER": "", "KEY": ""}
    assert (await call(token())).status == 401


async def test_an_rs256_issuer_is_checked_with_its_public_key_and_hs256_cannot_pose_as_it(
    settings,
):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.STOREFRONT_JWT = {
        "ISSUER": ISSUER,
        "AUDIENCE": "storefront",
        "KEY": public_pem,
        "ALGORITHMS": ["RS256"],
        "LEEWAY": 0,
    }
    assert (await call(token(key=private, algorithm="RS256"))).status == 200
    # The classic confusion: an HS256 token "signed" with the public key as its secret.
    header = b64(b'{"alg": "HS256", "typ": "JWT"}')
    claims = b64(orjson.dumps({"iss": ISSUER, "aud": "storefront", "sub": "x", "exp": 2**31}))
    signature = hmac.new(public_pem.encode(), header + b"." + claims, hashlib.sha256).digest()
    confused = b".".join([header, claims, b64(signature)]).decode()
    assert (await call(confused)).status == 401


async def test_each_token_subject_has_its_own_rate_limit_bucket(hs256, settings):
    settings.STOREFRONT_RATE_LIMITS = {
        "API": {"RATE": 0.01, "BURST": 1},
        "ANONYMOUS": {"RATE": 0, "BURST": 1},
    }
    assert (await call(token(sub="a"))).status == 200
    assert (await call(token(sub="a"))).status == 429
    assert (await call(token(sub="b"))).status == 200
