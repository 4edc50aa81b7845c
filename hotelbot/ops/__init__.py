"""Operator tooling: health checks, data protection, reports (no CLI code here)."""
