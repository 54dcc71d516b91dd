"""The scans' findings caches (tools/scan/cli.py RepositoryCache, ExportsCache), without running a scanner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.scan.cli import ExportsCache, RepositoryCache, Translated, scanners_key
from tools.scan.export import Export
from tools.scan.iam import PolicyDocument
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


@pytest.mark.parametrize("change", ["scanner pins", "SCAN_CACHE=0", "a checkov config file", "a CKV_ option"])
def test_new_scanners_their_options_or_scan_cache_off_rescan_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    monkeypatch.chdir(tmp_path)  # where checkov would look for its config file
    scanned(root, venv, files, tmp_path / "cache.json")
    if change == "scanner pins":
        (venv / ".installed").write_text("checkov==2\n")
    elif change == "SCAN_CACHE=0":
        monkeypatch.setenv("SCAN_CACHE", "0")
    elif change == "a checkov config file":
        (tmp_path / ".checkov.yaml").write_text("skip-check: [CKV_SECRET_6]\n")
    else:
        monkeypatch.setenv("CKV_SKIP_CHECK", "CKV_SECRET_6")
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


# --- the exports' findings, export by export ---------------------------------------------------------------------


def translated(build: Path, edits: dict[str, str] | None = None) -> Translated:
    """Two exports of a build directory, each with a plan, a template and one policy document."""
    done = Translated([], {}, {}, {}, [], [])
    for env in ("dev", "prod"):
        source = str(build / env / "network.json")
        done.exports.append(Export(source=source, resources=[], skipped=[]))
        for suffix, maps in (("tfplan", done.plan_maps), ("cfn", done.cfn_maps)):
            file = build / "scan" / f"{env}-network.{suffix}.json"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text((edits or {}).get(file.name, f'{{"{suffix}": "{env}"}}'))
            maps[file] = {"aws_vpc.main": f"urn:pulumi:{env}::network::aws:ec2/vpc:Vpc::main"}
            done.sources[file] = source
        done.policies.append((PolicyDocument(f"urn:{env}:role", "policy", '{"Statement": []}'), source))
    return done


def vpc_finding(source: str) -> Finding:
    return Finding("checkov", "CKV2_AWS_11", "VPC flow logging", False, "urn:vpc", "aws_vpc.main", source)


def first_scan(build: Path, venv: Path) -> Translated:
    """Both exports scanned, one finding each, saved to ``<build>/scan/findings-exports.json``."""
    inputs = translated(build)
    cache = ExportsCache(build / "scan" / "findings-exports.json", venv, inputs)
    assert cache.stale == [e.source for e in inputs.exports]
    cache.store([vpc_finding(e.source) for e in inputs.exports])
    return inputs


def test_unchanged_exports_scan_nothing_and_keep_their_findings(tmp_path: Path) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    inputs = first_scan(tmp_path / "build", venv)
    again = ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, inputs)
    assert again.stale == []
    assert again.stale_inputs() == ({}, {}, [])
    assert again.findings() == [vpc_finding(e.source) for e in inputs.exports]
    assert again.analysed() == 2


@pytest.mark.parametrize("edited", ["prod-network.tfplan.json", "prod-network.cfn.json"])
def test_a_changed_translation_rescans_its_export_alone(tmp_path: Path, edited: str) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    first_scan(tmp_path / "build", venv)
    inputs = translated(tmp_path / "build", {edited: '{"changed": true}'})
    again = ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, inputs)
    prod = str(tmp_path / "build" / "prod" / "network.json")
    assert again.stale == [prod]
    plans, templates, policies = again.stale_inputs()
    assert {f.name for f in [*plans, *templates]} == {"prod-network.tfplan.json", "prod-network.cfn.json"}
    assert [source for _, source in policies] == [prod]
    assert again.findings() == [vpc_finding(str(tmp_path / "build" / "dev" / "network.json"))]


def test_a_changed_urn_or_policy_rescans_the_export(tmp_path: Path) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    first_scan(tmp_path / "build", venv)
    for change in ("urn", "policy"):
        inputs = translated(tmp_path / "build")
        if change == "urn":
            next(iter(inputs.plan_maps.values()))["aws_vpc.main"] = "urn:renamed"
        else:
            inputs.policies[0] = (PolicyDocument("urn:dev:role", "policy", '{"Statement": [1]}'), inputs.policies[0][1])
        again = ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, inputs)
        assert again.stale == [str(tmp_path / "build" / "dev" / "network.json")], change


def test_a_copied_build_directory_keeps_the_findings_under_its_own_paths(tmp_path: Path) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    first_scan(tmp_path / "build", venv)
    shutil.copytree(tmp_path / "build", tmp_path / "copy")
    inputs = translated(tmp_path / "copy")
    again = ExportsCache(tmp_path / "copy" / "scan" / "findings-exports.json", venv, inputs)
    assert again.stale == []
    assert again.findings() == [vpc_finding(e.source) for e in inputs.exports]


def test_new_scanners_or_scan_cache_off_rescan_every_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    inputs = first_scan(tmp_path / "build", venv)
    (venv / ".installed").write_text("checkov==2\n")
    assert len(ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, inputs).stale) == 2
    (venv / ".installed").write_text("checkov==1\n")
    monkeypatch.setenv("SCAN_CACHE", "0")
    assert len(ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, inputs).stale) == 2


def test_an_export_finding_that_names_no_scanned_export_is_never_lost_to_the_cache(tmp_path: Path) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    inputs = translated(tmp_path / "build")
    cache = ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, inputs)
    cache.store([vpc_finding("/elsewhere/dev/network.json")])
    assert vpc_finding("/elsewhere/dev/network.json") in cache.findings()
    assert not (tmp_path / "build" / "scan" / "findings-exports.json").exists()


def test_two_exports_with_one_name_are_both_scanned_and_nothing_is_cached(tmp_path: Path) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    first, second = translated(tmp_path / "a"), translated(tmp_path / "b")
    both = Translated(
        [*first.exports, *second.exports],
        {**first.plan_maps, **second.plan_maps},
        {**first.cfn_maps, **second.cfn_maps},
        {**first.sources, **second.sources},
        [*first.policies, *second.policies],
        [],
    )
    cache = ExportsCache(tmp_path / "findings-exports.json", venv, both)
    assert cache.stale == [e.source for e in both.exports], "a/dev/network.json and b/dev/network.json are two"
    plans, templates, policies = cache.stale_inputs()
    assert len(plans) == len(templates) == len(policies) == 4
    cache.store([vpc_finding(e.source) for e in both.exports])
    assert cache.findings() == [vpc_finding(e.source) for e in both.exports]
    assert not (tmp_path / "findings-exports.json").exists()


def test_a_scan_of_some_environments_keeps_the_others_entries(tmp_path: Path) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    everything = first_scan(tmp_path / "build", venv)
    dev_only = translated(tmp_path / "build", {"dev-network.tfplan.json": '{"changed": true}'})
    dev_only.exports = dev_only.exports[:1]
    ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, dev_only).store([])
    again = ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, translated(tmp_path / "build"))
    assert again.stale == [everything.exports[0].source], "prod's entry survived a scan of dev alone"


@pytest.mark.parametrize("content", ["", '{"tools": ', "[]", '{"tools": "other", "exports": {}}'])
def test_a_broken_or_foreign_cache_file_means_scan_everything(tmp_path: Path, content: str) -> None:
    _, venv, files = checkout(tmp_path / "repo")
    (tmp_path / "cache.json").write_text(content)
    assert RepositoryCache(tmp_path / "cache.json", tmp_path / "repo", venv, files).stale == files
    inputs = translated(tmp_path / "build")
    assert len(ExportsCache(tmp_path / "cache.json", venv, inputs).stale) == 2


def test_exports_listed_in_another_order_keep_their_findings(tmp_path: Path) -> None:
    _, venv, _ = checkout(tmp_path / "repo")
    inputs = first_scan(tmp_path / "build", venv)
    inputs.exports.reverse()
    again = ExportsCache(tmp_path / "build" / "scan" / "findings-exports.json", venv, inputs)
    assert again.stale == []
    assert again.findings() == [vpc_finding(e.source) for e in inputs.exports]


def test_the_two_caches_never_read_each_others_files(tmp_path: Path) -> None:
    root, venv, files = checkout(tmp_path / "repo")
    assert scanners_key("repository", venv) != scanners_key("exports", venv)
    scanned(root, venv, files, tmp_path / "cache.json")  # a repository cache where the exports' would be
    assert len(ExportsCache(tmp_path / "cache.json", venv, translated(tmp_path / "build")).stale) == 2
