"""Minimal peers for the fan-out benchmark: the same three upstream calls, other stacks."""
