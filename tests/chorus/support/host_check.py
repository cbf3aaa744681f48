"""An async middleware that reads the Host first, as Django's CommonMiddleware does."""

from asgiref.sync import markcoroutinefunction


class HostCheckMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        request.get_host()  # DisallowedHost for a host not in ALLOWED_HOSTS
        return await self.get_response(request)
