"""Storefront's shared HTTP plumbing: middleware, body checks, JSON errors, redaction.

Features import from here; nothing here imports a feature.
"""
