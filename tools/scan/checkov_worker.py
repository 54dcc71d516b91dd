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
import sys
import traceback


def main() -> int:
    """Serve requests until stdin closes."""
    import checkov.main

    for line in sys.stdin:
        if not line.strip():
            continue
        captured = io.StringIO()
        code, error = 0, ""
        try:
            with contextlib.redirect_stdout(captured):
                code = checkov.main.Checkov(argv=json.loads(line)).run() or 0
        except SystemExit as stop:  # argparse errors and checkov's own exits
            code = stop.code if isinstance(stop.code, int) else 2
        except Exception:  # report it to the parent instead of dying with a pipe the parent waits on
            code, error = 2, traceback.format_exc(limit=5)
        sys.stdout.write(json.dumps({"code": code, "stdout": captured.getvalue(), "error": error}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
