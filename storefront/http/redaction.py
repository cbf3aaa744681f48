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

# Each pattern, with the words (lower case) that a line must hold for it to match: a line
# holding none of them skips the pattern. An access line holds none, and running the four
# patterns over it cost more than writing it (about 13 µs a line).
_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    # Header lines and dict-like reprs: "Authorization: Bearer x", "'HTTP_COOKIE': 'a=b'".
    (
        re.compile(
            r"(?i)((?:http_)?(?:authorization|x[-_]api[-_]key|cookie|set[-_]cookie)['\"]?\s*[:=]\s*['\"]?)"
            r"[^'\"\r\n]+"
        ),
        ("authorization", "x-api", "x_api", "cookie"),
    ),
    (re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"), ("bearer",)),
    (re.compile(r"(\b)sf_[A-Za-z0-9_-]{8,}"), ("sf_",)),
    # Query strings and form bodies: ?token=..., &api_key=..., password=...
    (
        re.compile(
            r"(?i)([?&;\s](?:access_token|refresh_token|token|api[-_]?key|key|password|secret|"
            r"sessionid|csrftoken|csrfmiddlewaretoken)=)[^&\s'\"#]*"
        ),
        ("token=", "key=", "password=", "secret=", "sessionid="),
    ),
)


def _keep_name(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED


def redact(text: str) -> str:
    # Case-insensitive matching also folds a few non-ASCII letters onto ASCII ones (the
    # Kelvin sign onto k, the long s onto s), which the words' quick look would miss.
    lowered = text.lower() if text.isascii() else None
    for pattern, words in _PATTERNS:
        if lowered is None or any(word in lowered for word in words):
            text = pattern.sub(_keep_name, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Replaces a record's message (and its exception text) with a redacted copy."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Kept formatted even when nothing was redacted: the formatter would format it again.
        record.msg, record.args = redact(record.getMessage()), None
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
