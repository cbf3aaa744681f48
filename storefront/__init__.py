"""Storefront: the reference Django project built on Chorus (an online shop's operations backend)."""
