"""Development tooling: ``manage.py demo``, ``manage.py upstreams`` and the process supervision
behind them. Not needed to serve storefront."""
