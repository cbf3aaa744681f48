"""What an operator's tools ask of a running storefront: liveness, readiness, metrics."""
