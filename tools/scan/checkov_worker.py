"""A checkov process that imports checkov once and then runs one checkov command line per request.

Runs inside .venv-scan (``<venv>/bin/python checkov_worker.py``), so it imports nothing from this project. Each line
on stdin is a JSON list of checkov arguments; for each, one JSON line goes to stdout: ``{"code": <exit code>,
"stdout": <what checkov printed>, "error": <why it crashed, or "">}``. A request runs exactly what the ``checkov``
console script runs (``checkov.main.Checkov(argv).run()``), with its stdout captured.

Why: importing checkov takes seconds. ``make check`` starts this worker before the layer runs, so the import and
the repository scan overlap them, and then hands it the translated exports (tools/scan/runners.py).
"""

import contextlib
import io
import json
import os
import sys
import traceback

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


def main() -> int:
    """Serve requests until stdin closes."""
    import checkov.main

    ignore_own_paths()
    for line in sys.stdin:
        if not line.strip():
            continue
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
        sys.stdout.write(json.dumps({"code": code, "stdout": captured.getvalue(), "error": error}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
