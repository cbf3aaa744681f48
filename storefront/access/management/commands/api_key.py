"""``manage.py api_key create|list|revoke``: manage API keys from a shell or a deployment script.

    manage.py api_key create --name ci --scope read      # prints the key, once
    manage.py api_key list
    manage.py api_key revoke sf_AbCdE                     # by prefix (or --id)

Revocation reaches other running processes within ``STOREFRONT_API_KEY_CACHE_TTL``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from storefront.access.keys import create_key
from storefront.access.models import ApiKey, Scope


class Command(BaseCommand):
    help = "Create, list or revoke API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a key and print it (once).")
        create.add_argument("--name", required=True)
        create.add_argument("--scope", choices=Scope.values, default=Scope.READ)
        create.add_argument(
            "--key", help="Store this key instead of a new random one (at least 24 characters)."
        )
        actions.add_parser("list", help="List keys (prefixes only: keys are not stored).")
        revoke = actions.add_parser("revoke", help="Revoke keys by prefix or id.")
        revoke.add_argument("prefix", nargs="?")
        revoke.add_argument("--id", type=int, dest="key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            try:
                plaintext, api_key = create_key(
                    name=options["name"], scope=options["scope"], key=options["key"]
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(plaintext)
            if options["verbosity"] > 1:
                self.stderr.write(f"created {api_key}")
        elif action == "list":
            for api_key in ApiKey.objects.all():
                state = f"revoked {api_key.revoked_at:%Y-%m-%d}" if api_key.revoked else "active"
                self.stdout.write(
                    f"{api_key.pk}\t{api_key.prefix}\t{api_key.scope}\t{state}\t{api_key.name}"
                )
        else:
            self._revoke(options["prefix"], options["key_id"])

    def _revoke(self, prefix: str | None, key_id: int | None) -> None:
        if (prefix is None) == (key_id is None):
            raise CommandError("give either a key prefix or --id")
        keys = ApiKey.objects.filter(revoked_at__isnull=True)
        keys = keys.filter(pk=key_id) if key_id is not None else keys.filter(prefix=prefix)
        matched = list(keys)
        if not matched:
            raise CommandError("no active key matches")
        if len(matched) > 1:
            raise CommandError(f"{len(matched)} active keys match: revoke by --id")
        for api_key in matched:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
            self.stdout.write(f"revoked {api_key}")
