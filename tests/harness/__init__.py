"""Test harness: backends, oracles (the real frameworks), comparisons, conformance counts."""
