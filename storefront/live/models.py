"""The database backend's event table: a bounded backlog, newest rows kept, ids only growing."""

from __future__ import annotations

from django.db import models

__all__ = ["StoredEvent"]


class StoredEvent(models.Model):
    kind = models.CharField(max_length=64)
    # JSON text as published (orjson), not a JSONField: the poller passes it on without a round trip.
    data = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.pk} {self.kind}"
