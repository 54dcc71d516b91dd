"""A stand-in ``pulumi``: records each call (arguments, working directory, backend) and answers from files.

Environment:
  STANDIN_RECORD   JSON-lines file each call is appended to
  STANDIN_DIR      answers: stacks.json ({layer: [env, ...]}; default: every stack with a stack file in the layer),
                   outputs/<env>/<layer>.json (``stack output --json``; default {}),
                   deploys/<env>/<layer>.json (the outputs a successful ``up`` leaves: copied to outputs/),
                   exports/<env>/<layer>.json (``stack export``; default no resources), version (default v3.272.0)
  STANDIN_FAIL_IN  a layer whose preview/up/refresh/destroy exits 3
  STANDIN_LOGGED_OUT  when set, ``whoami`` fails
"""

import json
import os
import sys
from pathlib import Path

args = sys.argv[1:]
record = {"args": args, "backend": os.environ.get("PULUMI_BACKEND_URL", "")}
with open(os.environ["STANDIN_RECORD"], "a") as calls:
    calls.write(json.dumps(record) + "\n")

answers = Path(os.environ.get("STANDIN_DIR", "/nonexistent"))
layer = Path(args[args.index("--cwd") + 1]).name if "--cwd" in args else ""
env = args[args.index("--stack") + 1] if "--stack" in args else ""


def answer(path: Path, default: str) -> None:
    print(path.read_text() if path.exists() else default)


if args[:1] == ["version"]:
    answer(answers / "version", "v3.272.0")
elif args[:1] == ["whoami"]:
    if os.environ.get("STANDIN_LOGGED_OUT"):
        print("error: not logged in", file=sys.stderr)
        sys.exit(255)
    print("User: ci\nBackend URL: " + record["backend"])
elif args[:2] == ["stack", "ls"]:
    stacks_file = answers / "stacks.json"
    known = json.loads(stacks_file.read_text()) if stacks_file.exists() else None
    files = sorted(Path(args[args.index("--cwd") + 1]).glob("Pulumi.*.yaml")) if "--cwd" in args else []
    envs = known.get(layer, []) if known is not None else [f.name.split(".")[1] for f in files]
    print(json.dumps([{"name": f"organization/student-helper-{layer}/{e}"} for e in envs]))
elif args[:2] == ["stack", "output"]:
    answer(answers / "outputs" / env / f"{layer}.json", "{}")
elif args[:2] == ["stack", "export"]:
    answer(answers / "exports" / env / f"{layer}.json", '{"version": 3, "deployment": {"resources": []}}')
elif args[:1] in (["preview"], ["up"], ["refresh"], ["destroy"]) and layer == os.environ.get("STANDIN_FAIL_IN"):
    print(f"error: {args[0]} failed in {layer}", file=sys.stderr)
    sys.exit(3)
elif args[:1] == ["up"] and (answers / "deploys" / env / f"{layer}.json").exists():
    deployed = answers / "outputs" / env / f"{layer}.json"
    deployed.parent.mkdir(parents=True, exist_ok=True)
    deployed.write_text((answers / "deploys" / env / f"{layer}.json").read_text())
