"""/api/ access settings: each default written once in access/conf.py, each overridable."""

from __future__ import annotations

from storefront.access.conf import conf


def test_the_key_cache_ttl_defaults_to_30_s_and_follows_settings(settings) -> None:
    del settings.STOREFRONT_API_KEY_CACHE_TTL
    assert conf.api_key_cache_ttl == 30.0
    settings.STOREFRONT_API_KEY_CACHE_TTL = 0
    assert conf.api_key_cache_ttl == 0.0


def test_jwts_are_off_by_default_with_the_documented_defaults(settings) -> None:
    del settings.STOREFRONT_JWT
    assert conf.jwt == {
        "ISSUER": "",
        "AUDIENCE": "storefront",
        "KEY": "",
        "ALGORITHMS": ["RS256"],
        "LEEWAY": 30.0,
        "WRITE_SCOPE": "storefront:write",
    }


def test_a_jwt_key_left_out_takes_its_default_alone(settings) -> None:
    settings.STOREFRONT_JWT = {"ISSUER": "https://id.example", "KEY": "k", "LEEWAY": 0}
    config = conf.jwt
    assert (config["ISSUER"], config["KEY"], config["LEEWAY"]) == ("https://id.example", "k", 0)
    assert (config["AUDIENCE"], config["ALGORITHMS"]) == ("storefront", ["RS256"])
