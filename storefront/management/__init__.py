"""Storefront's management commands."""
