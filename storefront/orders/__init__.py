"""Storefront's orders: customers, orders and their items, served by async views."""
