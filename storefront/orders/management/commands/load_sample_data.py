"""``manage.py load_sample_data``: the sample shop, deterministic and idempotent (see ``sample_data``)."""

from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from storefront.orders.sample_data import SampleSize, load_sample_data


class Command(BaseCommand):
    help = "Load a deterministic sample set of customers, orders and items (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SampleSize()
        parser.add_argument("--customers", type=_positive, default=defaults.customers)
        parser.add_argument("--orders", type=_positive, default=defaults.orders)
        parser.add_argument(
            "--days",
            type=_positive,
            default=defaults.days,
            help="spread orders over this many days",
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--replace", action="store_true", help="reload even when the same set is present"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        size = SampleSize(
            customers=options["customers"],
            orders=options["orders"],
            days=options["days"],
            seed=options["seed"],
        )
        now = timezone.now().replace(microsecond=0)
        loaded = load_sample_data(size, now=now, replace=options["replace"])
        if options["verbosity"] < 1:
            return
        if loaded:
            self.stdout.write(
                f"Loaded {size.customers} customers and {size.orders} orders (seed {size.seed})."
            )
        else:
            self.stdout.write("Sample data already loaded; left unchanged.")


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ArgumentTypeError(f"must be a whole number from 1, not {raw!r}")
    return int(raw)
