"""The files of a checkout, as a fresh clone plus its local edits has them."""

from __future__ import annotations

import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path


def repo_files(root: Path) -> list[Path]:
    """The repository's tracked and untracked-but-not-ignored files (so .venv and build/ stay out).

    Outside a git checkout (a downloaded archive), the files that no ``.gitignore`` names (each rules its own folder).
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0:
        return [root / p for p in sorted(set(listed.stdout.split("\0"))) if p and (root / p).is_file()]
    # Each .gitignore rules the folder it sits in (policies/.gitignore keeps the pack's venv out).
    rules = {root: [".git"]}
    for ignore in root.rglob(".gitignore"):
        lines = (line.strip().rstrip("/") for line in ignore.read_text().splitlines())
        rules.setdefault(ignore.parent, []).extend(line for line in lines if line and not line.startswith("#"))

    def ignored(path: Path) -> bool:
        for folder, patterns in rules.items():
            if path.is_relative_to(folder):
                parts = path.relative_to(folder).parts
                if any(fnmatch(part, pattern) for part in parts for pattern in patterns):
                    return True
        return False

    return [path for path in sorted(root.rglob("*")) if path.is_file() and not ignored(path)]


def copy_checkout(root: Path, destination: Path) -> Path:
    """``root``'s files (:func:`repo_files`) copied to ``destination``: a fresh clone plus the local edits."""
    for source in repo_files(root):
        target = destination / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination
