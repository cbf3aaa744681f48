"""The transport: the one seam between chorus and the HTTP client underneath (private).

``_base.py`` is the ``Transport`` interface, ``_http1.py`` and ``_connection.py``
chorus's own HTTP/1.1 client, ``_aiohttp.py`` the aiohttp-backed alternative
(the ``aiohttp`` extra), ``_factory.py`` one transport per event loop.
Their public names are at ``chorus``'s face.
"""
