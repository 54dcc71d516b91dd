"""A stand-in ``gh`` for ``gh api``: records each call (its arguments and the JSON body it was given with
``--input``) and answers the listing of a pull request's comments page by page, as ``--paginate`` prints them.

Environment:
  STANDIN_RECORD  JSON-lines file each call is appended to
  STANDIN_DIR     comments.json: the pages of comments (a list of lists) a listing answers (default: one empty page)
"""

import json
import os
import sys
from pathlib import Path

args = sys.argv[1:]
body = json.loads(Path(args[args.index("--input") + 1]).read_text()) if "--input" in args else None
with open(os.environ["STANDIN_RECORD"], "a") as calls:
    calls.write(json.dumps({"args": args, "body": body}) + "\n")

if args[:1] != ["api"]:
    print(f"gh stand-in: only `gh api` is known, not {args}", file=sys.stderr)
    sys.exit(2)
if "--method" in args:
    print(json.dumps({"id": 1, "body": body["body"] if body else ""}))
else:
    pages = Path(os.environ.get("STANDIN_DIR", "/nonexistent")) / "comments.json"
    for page in json.loads(pages.read_text()) if pages.exists() else [[]]:
        print(json.dumps(page))
