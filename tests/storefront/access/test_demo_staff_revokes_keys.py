"""The demo's staff login can revoke API keys in the admin, and needs no more than that.

The demo printed a staff login that the admin then refused (403) on the API
keys page (issue 25, point 8). The user here is the one ``manage.py demo``
makes, logged in with the password it printed; the revocations go through the
admin's own views, as a browser would send them.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from storefront.access.keys import check_key, create_key
from storefront.access.models import ApiKey, Scope
from storefront.devtools.management.commands.demo import _demo_credentials

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/access/apikey/"


@pytest.fixture
def demo_staff(monkeypatch) -> Client:
    """A client logged in as the demo's staff user, with the password the demo printed."""
    monkeypatch.delenv("STOREFRONT_DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("STOREFRONT_DEMO_API_KEY", raising=False)
    credentials = _demo_credentials()
    client = Client()
    assert client.login(username=credentials.username, password=credentials.password)
    return client


def _key(name: str) -> tuple[str, ApiKey]:
    plaintext, _ = create_key(name=name, scope=Scope.READ)
    return plaintext, ApiKey.objects.get(name=name)


def test_the_demo_staff_user_sees_the_keys(demo_staff):
    _key("listed")
    response = demo_staff.get(CHANGELIST)
    assert response.status_code == 200
    assert b"listed" in response.content


def test_the_demo_staff_user_revokes_keys_with_the_admin_action(demo_staff):
    plaintext, stored = _key("to revoke")
    response = demo_staff.post(
        CHANGELIST, {"action": "revoke", "_selected_action": [stored.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Revoked 1 key(s)." in [str(message) for message in response.context["messages"]]
    stored.refresh_from_db()
    assert stored.revoked
    assert check_key(plaintext) is None


def test_the_demo_staff_user_revokes_a_key_on_its_change_page(demo_staff):
    plaintext, stored = _key("revoke on its page")
    page = f"{CHANGELIST}{stored.pk}/change/"
    assert demo_staff.get(page).status_code == 200
    response = demo_staff.post(
        page,
        {
            "name": stored.name,
            "scope": stored.scope,
            "revoked_at_0": "2026-01-01",
            "revoked_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    stored.refresh_from_db()
    assert stored.revoked
    assert check_key(plaintext) is None


def test_the_demo_staff_user_has_only_what_revoking_needs(demo_staff):
    user = get_user_model().objects.get(username="staff")
    assert user.is_staff
    assert not user.is_superuser
    assert user.get_all_permissions() == {"access.view_apikey", "access.change_apikey"}


def test_a_view_only_staff_user_cannot_revoke():
    """Revoking changes a key: seeing the list is not enough for the action."""
    user = get_user_model().objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    plaintext, stored = _key("kept")
    client = Client()
    client.force_login(user)
    assert client.get(CHANGELIST).status_code == 200
    client.post(CHANGELIST, {"action": "revoke", "_selected_action": [stored.pk]})
    stored.refresh_from_db()
    assert not stored.revoked
    assert check_key(plaintext) is not None
