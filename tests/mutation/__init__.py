"""Targeted mutation testing: ``python -m tests.mutation.run`` (see docs/reliability.md)."""
