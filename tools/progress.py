"""Progress lines for slow commands: one updating line with colour on a terminal, plain lines in CI and logs."""

from __future__ import annotations

import os
import shutil
import sys
from typing import TextIO

_COLOURS = {"ok": "32", "FAIL": "31", "warn": "33", "cached": "36"}


class Progress:
    """Writes a transient status (TTY only) and permanent lines (always) to one stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() and os.environ.get("TERM") != "dumb" and not os.environ.get("NO_COLOR")
        self._transient = False

    def _width(self) -> int:
        return shutil.get_terminal_size((120, 24)).columns

    def paint(self, text: str, status: str) -> str:
        """``text`` in the status's colour on a terminal, unchanged otherwise."""
        colour = _COLOURS.get(status)
        return f"\033[{colour}m{text}\033[0m" if self.tty and colour else text

    def status(self, text: str) -> None:
        """A line that the next status or line replaces (not written at all outside a terminal)."""
        if self.tty:
            self.stream.write("\r\033[K" + text[: self._width() - 1])
            self.stream.flush()
            self._transient = True

    def line(self, text: str, status: str = "") -> None:
        """A permanent line; ``status`` (ok, FAIL, warn, cached) colours its first word on a terminal."""
        if self._transient:
            self.stream.write("\r\033[K")
            self._transient = False
        if status:
            head, _, rest = text.partition(" ")
            text = f"{self.paint(head, status)} {rest}" if rest else self.paint(head, status)
        self.stream.write(text + "\n")
        self.stream.flush()
