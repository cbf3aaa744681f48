"""API keys: who may call ``/api/``, and whether they may change anything.

Only a SHA-256 digest of each key is stored. Keys are long random strings, so a
fast hash is enough (a slow password hash would guard against guessing, which
256 bits of randomness already rule out, and would cost milliseconds on every
uncached request). The digest is also the lookup: one indexed query, and no
comparison of secrets in Python. ``prefix`` (the key's first characters) is
kept in clear so people can tell their keys apart in lists.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["ApiKey", "Scope"]


class Scope(models.TextChoices):
    READ = "read", "read"
    READ_WRITE = "read-write", "read-write"


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "id")
        verbose_name = "API key"
        constraints = (
            models.CheckConstraint(
                condition=models.Q(scope__in=("read", "read-write")), name="apikey_scope_known"
            ),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.scope})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
