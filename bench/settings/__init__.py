"""Storefront settings variants that only benchmarks use."""
