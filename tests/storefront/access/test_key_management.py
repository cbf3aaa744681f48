"""Keys managed by ``manage.py api_key`` and in the admin: shown once, listed by prefix, revoked."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from storefront.access.keys import check_key, digest
from storefront.access.models import ApiKey, Scope

pytestmark = pytest.mark.django_db


def api_key_command(*args: str) -> str:
    out = io.StringIO()
    call_command("api_key", *args, stdout=out)
    return out.getvalue()


def test_create_prints_a_key_that_works_with_the_scope_asked_for():
    key = api_key_command("create", "--name", "ci", "--scope", "read").strip()
    stored = ApiKey.objects.get(name="ci")
    assert stored.digest == digest(key)
    assert stored.scope == Scope.READ
    credential = check_key(key)
    assert credential is not None
    assert not credential.can_write


def test_create_can_store_a_chosen_key_but_not_a_short_one():
    chosen = "sf_chosen-by-the-operator-0123456789"
    assert api_key_command("create", "--name", "ops", "--key", chosen).strip() == chosen
    with pytest.raises(CommandError, match="at least 24"):
        api_key_command("create", "--name", "short", "--key", "too-short")


def test_list_shows_prefixes_and_state_never_keys():
    key = api_key_command("create", "--name", "listed").strip()
    listing = api_key_command("list")
    assert key not in listing
    assert key[:8] in listing
    assert "active" in listing


def test_revoke_by_prefix_stops_the_key_in_this_process_at_once():
    key = api_key_command("create", "--name", "doomed", "--scope", "read-write").strip()
    assert check_key(key) is not None  # now cached
    api_key_command("revoke", key[:8])
    assert check_key(key) is None
    assert "revoked" in api_key_command("list")


def test_revoke_refuses_to_guess():
    with pytest.raises(CommandError, match="either"):
        api_key_command("revoke")
    with pytest.raises(CommandError, match="no active key"):
        api_key_command("revoke", "sf_nope")


def test_the_admin_creates_a_key_and_shows_it_once(admin_client):
    response = admin_client.post(
        "/admin/access/apikey/add/", {"name": "from admin", "scope": "read"}, follow=True
    )
    assert response.status_code == 200
    stored = ApiKey.objects.get(name="from admin")
    shown = next(str(m) for m in response.context["messages"] if "new key is" in str(m))
    key = shown.split("new key is ")[1].split(" ")[0]
    assert stored.digest == digest(key)
    page = admin_client.get(f"/admin/access/apikey/{stored.pk}/change/").content.decode()
    assert key not in page
    assert stored.digest not in page


def test_the_admin_revokes_selected_keys(admin_client):
    key = api_key_command("create", "--name", "to revoke").strip()
    stored = ApiKey.objects.get(name="to revoke")
    admin_client.post(
        "/admin/access/apikey/",
        {"action": "revoke", "_selected_action": [stored.pk]},
    )
    stored.refresh_from_db()
    assert stored.revoked
    assert check_key(key) is None


@pytest.mark.django_db(transaction=True)
async def test_the_admins_message_survives_its_redirect_under_asgi(async_client, admin_user):
    # Messages storage is made on first use (storefront.http.middleware.MessageMiddleware):
    # the async path must still store what the admin adds and show it after the redirect.
    await async_client.aforce_login(admin_user)
    response = await async_client.post(
        "/admin/access/apikey/add/", {"name": "async admin", "scope": "read"}, follow=True
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("new key is" in message for message in shown), shown
    again = await async_client.get("/admin/access/apikey/")
    assert "new key is" not in again.content.decode()  # shown once, then gone
