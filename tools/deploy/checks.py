"""The result type every ``make doctor`` check returns, local (tools/deploy/doctor.py) or in AWS (account.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """The result of one doctor check."""

    name: str
    status: str
    """``ok``, ``FAIL`` or ``skip`` (cannot be checked yet, and why)."""
    detail: str
    """What was found, and for a failure what to do about it."""
