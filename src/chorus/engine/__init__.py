"""The fan-out engine. Its public names are at ``chorus``'s face; every module here is private.

- fan-out: ``_fanout.py`` (``gather``, ``Fanout``), ``_sources.py`` (what a
  fan-out runs), ``_expiry.py`` (one timer per fan-out), ``_results.py``
  (``Outcome``, ``SourceResult``, ``Result`` and the envelope);
- calls: ``_call.py`` (``Call``, ``call()``), ``_settings.py`` (``CHORUS``'s
  engine keys, ``UpstreamConfig``), ``_chain.py`` (each upstream's policy chain,
  ``fetch``), ``_attempt.py`` (the ``Attempt``/``Reply`` seam every link shares),
  ``_send.py`` (the innermost link: bulkhead, transport, JSON), ``_bulkhead.py``,
  ``_policy_config.py`` (``BreakerPolicy``, ``RetryPolicy``, ``HedgePolicy``, ``CachePolicy``),
  ``_methods.py`` (which methods may be sent twice);
- ``policies/``: cache, breaker, retry, hedge, one module each;
- ``transport/``: chorus's HTTP/1.1 client and the ``Transport`` interface;
- what the other parts stand on: ``_exceptions.py``, ``_metrics.py``,
  ``_loop_local.py``, ``_redis.py`` (shared state), ``_draining.py``,
  ``_request_context.py``;
- tracing (OpenTelemetry, optional): ``_tracing.py`` (whether to trace, decided
  once), ``_spans.py`` (the spans, imported only when tracing is on),
  ``_span_attributes.py`` (what they say, secrets redacted).
"""
