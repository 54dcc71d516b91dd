"""make bench's texts: generated from docs/benchmarks.json, never edited by hand, and its verdicts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tools import bench
from tools.generated import SectionError, replace_section


def _figures(**overrides: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "date": "2026-11-30",
        "machine": "2 CPU(s), x86_64",
        "python": "3.11.7",
        "runs": 3,
        "floor": 0.25,
        "forked_floor": 0.01,
        "layer_process": 0.6,
        "cold": {"layers": 3.0, "policies": 0.4, "scans": 3.0, "cost": 0.1, "diagrams": 0.3, "layer": 0.3, "wall": 8.0},
        "check_cold": 8.0,
        "check_warm": 1.5,
        "test": 55.0,
        "pack_launch": 0.3,
        "first_analyze": 0.004,
        "first_run": {
            "setup": 40.0,
            "venv_bytes": {".venv": 400_000_000, ".venv-scan": 350_000_000},
            "first_check": 20,
        },
    }
    figures.update(overrides)
    return figures


def test_the_committed_texts_are_rendered_from_the_committed_figures() -> None:
    figures = json.loads(bench.RESULTS.read_text())
    report = bench.REPORT.read_text()
    assert f"{bench.FIGURES_BEGIN}\n\n{bench.render_report(figures)}\n\n{bench.FIGURES_END}" in report, (
        "run `python -m tools.bench render`"
    )
    readme = bench.README.read_text()
    assert f"{bench.FIRST_RUN_BEGIN}\n\n{bench.render_first_run(figures)}\n\n{bench.FIRST_RUN_END}" in readme, (
        "the README's first-run paragraph is not the JSON's"
    )


@pytest.mark.parametrize(
    ("overrides", "missed"),
    [
        ({}, []),
        ({"check_cold": 10.5}, ["make check, 3 environments, cold (NO_CACHE=1)"]),
        ({"check_warm": 2.1}, ["make check, warm (inputs unchanged)"]),
        ({"test": 61.0}, ["make test, venvs in place"]),
        ({"first_analyze": 0.2}, ["the policy pack's first Analyze, in a fresh pack process"]),
        (
            {"cold": {**_figures()["cold"], "layer": 0.6}},
            ["one layer run, as make check runs it, within 2x the floor"],
        ),
    ],
)
def test_a_target_is_missed_only_above_its_limit(overrides: dict[str, Any], missed: list[str]) -> None:
    assert [text for text, _, _, met in bench.verdicts(_figures(**overrides)) if not met] == missed


def test_skipped_measurements_are_left_out_not_invented() -> None:
    figures = _figures()
    del figures["test"], figures["first_run"]
    assert [text for text, *_ in bench.verdicts(figures)] == [
        "make check, 3 environments, cold (NO_CACHE=1)",
        "make check, warm (inputs unchanged)",
        "the policy pack's first Analyze, in a fresh pack process",
        "one layer run, as make check runs it, within 2x the floor",
    ]
    paragraph = bench.render_first_run(figures)
    assert "first run costs" not in paragraph
    assert "make test" not in paragraph
    assert "make test" not in bench.render_report(figures)


def test_the_first_run_paragraph_states_time_and_disk() -> None:
    paragraph = bench.render_first_run(_figures())
    assert "take 40 s with empty package caches" in paragraph
    assert "750 MB of disk (`.venv` 400 MB, `.venv-scan` 350 MB)" in paragraph
    assert "answers in 8.0 s cold and 1.5 s warm, and `make test` in 55 s." in paragraph


@pytest.mark.parametrize("blocks", [0, 2])
def test_a_document_must_hold_exactly_one_generated_section(blocks: int) -> None:
    text = "intro\n" + (bench.FIRST_RUN_BEGIN + "\nold\n" + bench.FIRST_RUN_END + "\n") * blocks
    with pytest.raises(SectionError, match="exactly one section"):
        replace_section(text, bench.FIRST_RUN_BEGIN, bench.FIRST_RUN_END, "new")


def test_a_section_is_replaced_in_place_between_its_markers() -> None:
    text = f"intro\n{bench.FIRST_RUN_BEGIN}\nold\n{bench.FIRST_RUN_END}\noutro\n"
    expected = f"intro\n{bench.FIRST_RUN_BEGIN}\n\nNEW\n\n{bench.FIRST_RUN_END}\noutro\n"
    assert replace_section(text, bench.FIRST_RUN_BEGIN, bench.FIRST_RUN_END, "NEW") == expected
