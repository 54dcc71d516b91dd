"""A stand-in ``docker``: records each call (``login`` also records the password it read on stdin).

Environment: STANDIN_RECORD (JSON lines).
"""

import json
import os
import sys

args = sys.argv[1:]
record: dict[str, object] = {"args": ["docker", *args]}
if args[:1] == ["login"] and "--password-stdin" in args:
    record["stdin"] = sys.stdin.read().strip()
with open(os.environ["STANDIN_RECORD"], "a") as calls:
    calls.write(json.dumps(record) + "\n")
