"""A stand-in ``aws``: records each call; ``sts get-caller-identity`` and ``ecr describe-images`` answer.

Environment: STANDIN_RECORD (JSON lines), STANDIN_NO_CREDENTIALS (sts fails), STANDIN_MISSING_TAGS (space-separated
image tags ``describe-images`` does not find).
"""

import json
import os
import sys

args = sys.argv[1:]
with open(os.environ["STANDIN_RECORD"], "a") as calls:
    calls.write(json.dumps({"args": ["aws", *args]}) + "\n")
if args[:2] == ["sts", "get-caller-identity"]:
    if os.environ.get("STANDIN_NO_CREDENTIALS"):
        print("Unable to locate credentials", file=sys.stderr)
        sys.exit(253)
    print(json.dumps({"Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/ci"}))
elif args[:2] == ["ecr", "describe-images"]:
    tag = args[args.index("--image-ids") + 1].removeprefix("imageTag=")
    if tag in os.environ.get("STANDIN_MISSING_TAGS", "").split():
        print("ImageNotFoundException", file=sys.stderr)
        sys.exit(254)
    print(json.dumps({"imageDetails": [{"imageTags": [tag]}]}))
