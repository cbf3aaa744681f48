"""The image settings: each default written once in images/conf.py, each overridable."""

from __future__ import annotations

import pytest

from storefront.images.conf import DEFAULTS, conf

PROPERTIES = {
    "STOREFRONT_IMAGE_MAX_BYTES": ("max_bytes", 1234),
    "STOREFRONT_IMAGE_MAX_PIXELS": ("max_pixels", 5678),
    "STOREFRONT_IMAGE_TIME_LIMIT": ("time_limit", 1.5),
    "STOREFRONT_IMAGE_MAX_ATTEMPTS": ("max_attempts", 7),
    "STOREFRONT_IMAGE_STEP_DELAY": ("step_delay", 0.25),
    "STOREFRONT_WORKER_HEARTBEAT": ("heartbeat_seconds", 2.0),
    "STOREFRONT_SERVE_MEDIA": ("serve_media", False),
}


def test_every_default_has_its_property() -> None:
    assert set(PROPERTIES) == set(DEFAULTS)


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_a_setting_left_out_takes_its_default(settings, name: str) -> None:
    delattr(settings, name)
    assert getattr(conf, PROPERTIES[name][0]) == DEFAULTS[name]


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_a_setting_overrides_its_default(settings, name: str) -> None:
    attribute, value = PROPERTIES[name]
    assert value != DEFAULTS[name]
    setattr(settings, name, value)
    assert getattr(conf, attribute) == value


def test_the_defaults_are_the_documented_ones(settings) -> None:
    for name in PROPERTIES:
        delattr(settings, name)
    assert (conf.max_bytes, conf.max_pixels, conf.max_attempts) == (10 * 1024 * 1024, 40_000_000, 3)
    assert (conf.time_limit, conf.step_delay, conf.serve_media) == (60.0, 0.0, True)
    assert (conf.heartbeat_seconds, conf.stale_after_seconds) == (10.0, 30.0)
