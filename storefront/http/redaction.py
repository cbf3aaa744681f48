"""Secrets never reach a log line: API keys, bearer tokens, cookies, tokens in query strings.

``RedactSecretsFilter`` (a logging filter on every handler, see ``LOGGING``)
rewrites each record's final message before it is written: header-like
``Authorization: ...``, ``X-API-Key: ...``, ``Cookie: ...`` and
``Set-Cookie: ...`` values, ``Bearer`` tokens, storefront's ``sf_`` keys and
query parameters named like secrets (``token``, ``key``, ``password``, ...).
``ExceptionReporterFilter`` (``DEFAULT_EXCEPTION_REPORTER_FILTER``) hides the
same request headers from Django's error reports, which by default show
``HTTP_AUTHORIZATION`` and ``HTTP_COOKIE`` in clear.
"""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

__all__ = ["REDACTED", "ExceptionReporterFilter", "RedactSecretsFilter", "redact"]

REDACTED = "[redacted]"

_PATTERNS = (
    # Header lines and dict-like reprs: "Authorization: Bearer x", "'HTTP_COOKIE': 'a=b'".
    re.compile(
        r"(?i)((?:http_)?(?:authorization|x[-_]api[-_]key|cookie|set[-_]cookie)['\"]?\s*[:=]\s*['\"]?)"
        r"[^'\"\r\n]+"
    ),
    re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"),
    re.compile(r"(\b)sf_[A-Za-z0-9_-]{8,}"),
    # Query strings and form bodies: ?token=..., &api_key=..., password=...
    re.compile(
        r"(?i)([?&;\s](?:access_token|refresh_token|token|api[-_]?key|key|password|secret|"
        r"sessionid|csrftoken|csrfmiddlewaretoken)=)[^&\s'\"#]*"
    ),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Replaces a record's message (and its exception text) with a redacted copy."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|COOKIE|SESSION|CSRF",
        flags=re.IGNORECASE,
    )
