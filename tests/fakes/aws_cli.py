"""A stand-in ``aws`` for docs/deploying.md's image push: records each call; ``ecr get-login-password`` prints a token.

Environment: STANDIN_RECORD (JSON lines).
"""

import json
import os
import sys

args = sys.argv[1:]
with open(os.environ["STANDIN_RECORD"], "a") as calls:
    calls.write(json.dumps({"args": ["aws", *args]}) + "\n")
if args[:2] == ["ecr", "get-login-password"]:
    print("stand-in-ecr-token")
