"""A session that is never loaded unless read, set without a hop: what AuthenticationMiddleware needs.

tests.chorus.settings installs no sessions app; the signed-cookie store needs none.
"""

from django.contrib.sessions.backends.signed_cookies import SessionStore

from chorus.server import DualModeMiddleware


class LazySession(DualModeMiddleware):
    def call(self, request):
        request.session = SessionStore(None)
        return self.get_response(request)

    async def acall(self, request):
        request.session = SessionStore(None)
        return await self.get_response(request)
