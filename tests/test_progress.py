"""Progress output: an updating, coloured, width-aware line on a terminal; plain lines in CI and in logs."""

from __future__ import annotations

import io

import pytest

from tools.progress import Progress


class Stream(io.StringIO):
    """A stream that says whether it is a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture(autouse=True)
def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("COLUMNS", "40")


def test_plain_lines_outside_a_terminal() -> None:
    stream = Stream(tty=False)
    progress = Progress(stream)
    progress.status("running scans")
    progress.line("FAIL dev: something", "FAIL")
    assert stream.getvalue() == "FAIL dev: something\n"


def test_a_terminal_gets_an_updating_line_cut_to_its_width_and_colour() -> None:
    stream = Stream(tty=True)
    progress = Progress(stream)
    progress.status("x" * 100)
    written = stream.getvalue()
    assert written.startswith("\r\033[K")
    assert written.count("x") == 39, "the status line must fit the terminal's 40 columns"
    progress.line("ok network dev", "ok")
    assert stream.getvalue().endswith("\r\033[K\033[32mok\033[0m network dev\n")


def test_no_color_turns_colour_and_the_updating_line_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Stream(tty=True)
    progress = Progress(stream)
    progress.status("running")
    progress.line("ok done", "ok")
    assert stream.getvalue() == "ok done\n"
