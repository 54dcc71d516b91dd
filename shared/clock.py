"""The deployment's "now": the one place a layer program reads the time.

A real ``pulumi up`` takes the wall clock. The offline runner fixes it through :data:`FIXED_TIME_VARIABLE` (an
ISO-8601 UTC instant) so that two runs of the same program write byte-identical exports, which its cache and the
reviewers' diffs rely on. Only the offline runner sets the variable.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

FIXED_TIME_VARIABLE = "STUDENT_HELPER_FIXED_TIME"


def now() -> datetime:
    """The current UTC time, or the fixed time of an offline run."""
    fixed = os.environ.get(FIXED_TIME_VARIABLE)
    return datetime.fromisoformat(fixed).astimezone(UTC) if fixed else datetime.now(UTC)
