"""Django views built on the engine and the streams: ``Composite`` (JSON or SSE)."""
