"""Benchmarks that print figures (not tests, not shipped in the wheel): `make bench`.

They live beside the tests because they drive the product from outside, like the tests do.
The bench starts its helpers as `python -m tests.bench.<module>`; those children must find this
package whatever directory `make bench` was started from, so the repository root is put on
their PYTHONPATH here, once, before any child is spawned.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
_paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
if _REPO_ROOT not in _paths:
    os.environ["PYTHONPATH"] = os.pathsep.join([_REPO_ROOT, *_paths])
