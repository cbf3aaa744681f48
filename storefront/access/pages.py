"""``staff_only``: the staff login that guards storefront's pages (the dashboard, the API docs).

The pages' own requests to ``/api/`` authenticate with the same session
(storefront/access/middleware.py), so a page needs what its requests need.
"""

from django.contrib.auth.decorators import user_passes_test

__all__ = ["staff_only"]

staff_only = user_passes_test(lambda user: user.is_active and user.is_staff)
