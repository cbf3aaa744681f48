"""API keys in the admin: create (the key is shown once), list, revoke; never see a stored key."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from storefront.access.keys import digest, new_key
from storefront.access.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scope", "created_at", "revoked_at")
    list_filter = ("scope", "revoked_at")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at")
    fields = ("name", "scope", "prefix", "created_at", "revoked_at")
    actions = ("revoke",)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            plaintext = new_key()
            obj.prefix, obj.digest = plaintext[:8], digest(plaintext)
            super().save_model(request, obj, form, change)
            self.message_user(
                request,
                f"The new key is {plaintext} — copy it now: it is not stored and "
                "cannot be shown again.",
                messages.WARNING,
            )
            return
        super().save_model(request, obj, form, change)

    # Revoking changes a key: a staff user who may only view keys must not see the action.
    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        # save() per key, not update(): the post_save signal drops this process's cache entry.
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
