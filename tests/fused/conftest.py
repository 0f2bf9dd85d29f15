"""Fixtures of the fused linear + cross-entropy tests (JAX on CPU, float64 enabled)."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
