"""Storefront plus one route that does the image work inline, in the async view (the seeds' way).

For ``bench/images.py`` only: the contrast to the task worker, measured.
"""

from storefront.settings import *  # noqa: F403

ROOT_URLCONF = "bench.settings.images_inline_urls"
