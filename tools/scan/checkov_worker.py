"""A checkov process that imports checkov once and then runs checkov command lines, side by side, on request.

Runs inside .venv-scan (``<venv>/bin/python checkov_worker.py``), so it imports nothing from this project. Each line
on stdin is a JSON list of checkov arguments; for each, one JSON line goes to stdout, in the order of the requests:
``{"code": <exit code>, "stdout": <what checkov printed>, "error": <why it crashed, or "">}``. A request runs exactly
what the ``checkov`` console script runs (``checkov.main.Checkov(argv).run()``), with its stdout captured.

Why: importing checkov takes seconds. ``make check`` starts this worker before the layer runs, so the import and
the repository scan overlap them, and then hands it the translated exports (tools/scan/runners.py). Each request
runs in a child forked from the imported worker, so the exports' scan starts as soon as it is asked for, beside a
repository scan still running, and neither pays for the import again.
"""

import contextlib
import io
import json
import os
import selectors
import sys
import tempfile
import traceback
from collections import deque
from dataclasses import dataclass

# The absolute paths of the files the current request scans.
SCANNED: set[str] = set()
SECRET_FUNCTIONS = {"string_has_secrets": False, "get_secrets_from_string": []}


def ignore_own_paths() -> None:
    """Keep checkov's credential checks from reading a scanned file's own path as a secret.

    checkov's JSON decoder records the file a mapping came from as a ``__file__`` entry in every mapping, and its
    Lambda environment and EC2 user-data checks (CKV_AWS_45, CKV_AWS_46) test each entry of the block against its
    AWS-secret-key pattern: any run of exactly 40 of ``[A-Za-z0-9/+=]``. Whether a path has one depends only on
    where the checkout lives (``/tmp/tmpdj3w1qoe/tree/build/scan/staging`` is 40), so the verdict would too.
    A string that is exactly a scanned file's path is checkov's own record, never configuration.
    """
    import checkov.common.util.secrets as secrets

    for name, clean in SECRET_FUNCTIONS.items():
        original = getattr(secrets, name)

        def guarded(value: object, *categories: str, _original: object = original, _clean: object = clean) -> object:
            if isinstance(value, str) and value in SCANNED:
                return _clean
            return _original(value, *categories)  # type: ignore[operator]

        # The checks imported the function by name: replace it wherever checkov holds it.
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("checkov") and getattr(module, name, None) is original:
                setattr(module, name, guarded)


def scanned_files(argv: list[str]) -> set[str]:
    """The ``--file`` arguments of one checkov command line, as absolute and as resolved paths."""
    files = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("--file", "-f")]
    return {form(f) for f in files for form in (os.path.abspath, os.path.realpath)}


def run_request(line: str) -> dict[str, object]:
    """One checkov command line (a JSON list), run here; its answer."""
    import checkov.main

    captured = io.StringIO()
    code, error = 0, ""
    try:
        argv = json.loads(line)
        SCANNED.clear()
        SCANNED.update(scanned_files(argv))
        with contextlib.redirect_stdout(captured):
            code = checkov.main.Checkov(argv=argv).run() or 0
    except SystemExit as stop:  # argparse errors and checkov's own exits
        code = stop.code if isinstance(stop.code, int) else 2
    except Exception:  # report it to the parent instead of dying with a pipe the parent waits on
        code, error = 2, traceback.format_exc(limit=5)
    return {"code": code, "stdout": captured.getvalue(), "error": error}


@dataclass
class Running:
    """A request being run by a forked child, which writes its answer to ``answer`` and exits."""

    pid: int
    answer: str
    done: bool = False


def start(line: str, scratch: str | None) -> tuple[Running, int]:
    """Fork a child to run one request; the read end of a pipe that reaches EOF when the child has exited."""
    handle, answer = tempfile.mkstemp(prefix="checkov-answer-", suffix=".json", dir=scratch)
    os.close(handle)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, write the answer, exit without returning into the parent's loop
        os.close(read_end)
        code = 1
        try:
            with open(answer, "w", encoding="utf-8") as out:
                json.dump(run_request(line), out)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return Running(pid, answer), read_end


def reply(running: Running) -> None:
    """Write a finished request's answer to stdout."""
    _, status = os.waitpid(running.pid, 0)
    try:
        with open(running.answer, encoding="utf-8") as stored:
            answer = json.load(stored)
    except (OSError, ValueError):
        code = os.waitstatus_to_exitcode(status)
        how = f"exit {code}" if code >= 0 else f"signal {-code}"
        answer = {"code": 2, "stdout": "", "error": f"the checkov run crashed ({how})"}
    finally:
        with contextlib.suppress(OSError):
            os.unlink(running.answer)
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def main() -> int:
    """Serve requests until stdin closes and every request has its answer.

    The one optional argument is the folder the request children write their answers to (the caller removes it,
    whatever became of this process); without it, the system's temporary folder.
    """
    scratch = sys.argv[1] if len(sys.argv) > 1 else None
    import checkov.main  # noqa: F401 - imported once here, inherited by every forked request

    ignore_own_paths()
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, None)
    order: deque[Running] = deque()
    pending, reading = b"", True
    while reading or order:
        for key, _ in selector.select():
            if key.data is None:  # stdin: start every complete request line
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(key.fd)
                    reading = False
                    chunk = b"\n"  # a last request without its newline still runs
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in (line.decode() for line in lines):
                    if line.strip():
                        running, done_pipe = start(line, scratch)
                        order.append(running)
                        selector.register(done_pipe, selectors.EVENT_READ, running)
            else:  # a child exited (its end of the pipe closed)
                selector.unregister(key.fd)
                os.close(key.fd)
                key.data.done = True
        while order and order[0].done:  # answers go out in the order the requests came in
            reply(order.popleft())
    return 0


if __name__ == "__main__":
    sys.exit(main())
