"""The repository scans' per-file findings cache (tools/scan/cli.py RepositoryCache), without running a scanner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.scan.cli import RepositoryCache
from tools.scan.runners import Finding

FILES = {"README.md": "# hi\n", "tools/key.py": "KEY = 'x'\n", ".github/workflows/ci.yml": "on: push\n"}


def secret(source: str) -> Finding:
    title = "Base64 High Entropy String"
    return Finding("checkov-secrets", "CKV_SECRET_6", title, False, source, f"{source}:1", source)


def checkout(root: Path) -> tuple[Path, Path, list[Path]]:
    """A checkout with :data:`FILES`, a scanners' venv stamp beside it, and its file list."""
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    venv = root.parent / f"{root.name}-venv"
    venv.mkdir()
    (venv / ".installed").write_text("checkov==1\n")
    return root, venv, sorted(root / name for name in FILES)


def scanned(root: Path, venv: Path, files: list[Path], cache: Path) -> RepositoryCache:
    """A first scan of ``files``: everything stale, one finding on tools/key.py, saved to ``cache``."""
    first = RepositoryCache(cache, root, venv, files)
    assert [f.relative_to(root).as_posix() for f in first.stale] == sorted(FILES)
    first.store([secret("tools/key.py")])
    return first


def test_an_unchanged_checkout_scans_nothing_and_keeps_every_finding(tmp_path: Path) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    scanned(root, venv, files, tmp_path / "cache.json")
    again = RepositoryCache(tmp_path / "cache.json", root, venv, files)
    assert again.stale == []
    assert again.findings() == [secret("tools/key.py")]


@pytest.mark.parametrize(
    ("edit", "rescanned"),
    [
        ("README.md", ["README.md"]),  # a file without findings
        ("tools/key.py", ["tools/key.py"]),  # a file with one: it is judged afresh, never kept
        (".github/workflows/ci.yml", [".github/workflows/ci.yml"]),
    ],
)
def test_an_edit_rescans_the_edited_file_alone(tmp_path: Path, edit: str, rescanned: list[str]) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    scanned(root, venv, files, tmp_path / "cache.json")
    (root / edit).write_text("changed\n")
    again = RepositoryCache(tmp_path / "cache.json", root, venv, files)
    assert [f.relative_to(root).as_posix() for f in again.stale] == rescanned
    kept = [] if edit == "tools/key.py" else [secret("tools/key.py")]
    assert again.findings() == kept
    again.store([])  # the rescan found nothing this time
    assert RepositoryCache(tmp_path / "cache.json", root, venv, files).findings() == kept


def test_a_new_file_is_scanned_and_a_removed_one_forgotten(tmp_path: Path) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    scanned(root, venv, files, tmp_path / "cache.json")
    (root / "new.py").write_text("x = 1\n")
    now = [f for f in files if f.name != "key.py"] + [root / "new.py"]
    again = RepositoryCache(tmp_path / "cache.json", root, venv, now)
    assert again.stale == [root / "new.py"]
    assert again.findings() == []


@pytest.mark.parametrize("change", ["scanner pins", "SCAN_CACHE=0"])
def test_new_scanners_or_scan_cache_off_rescan_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    scanned(root, venv, files, tmp_path / "cache.json")
    if change == "scanner pins":
        (venv / ".installed").write_text("checkov==2\n")
    else:
        monkeypatch.setenv("SCAN_CACHE", "0")
    assert RepositoryCache(tmp_path / "cache.json", root, venv, files).stale == files


def test_a_copied_checkout_keeps_the_findings(tmp_path: Path) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    scanned(root, venv, files, tmp_path / "cache.json")
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    copied = sorted(copy / name for name in FILES)
    again = RepositoryCache(tmp_path / "cache.json", copy, venv, copied)
    assert again.stale == []
    assert again.findings() == [secret("tools/key.py")]


def test_a_finding_that_names_no_scanned_file_is_never_lost_to_the_cache(tmp_path: Path) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    first = RepositoryCache(tmp_path / "cache.json", root, venv, files)
    first.store([secret("/elsewhere/key.py")])
    assert first.findings() == [secret("/elsewhere/key.py")]
    assert not (tmp_path / "cache.json").exists()
    assert RepositoryCache(tmp_path / "cache.json", root, venv, files).stale == files
