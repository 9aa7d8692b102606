"""knowledge/examples/ is what `python -m tests.matching.examples` writes, and holds nothing measured only."""

from __future__ import annotations

from typing import Any

import yaml

from bot.knowledge.loader import dedup_key
from tests.matching.examples import EXAMPLES, rendered
from tests.matching.realworld import load_posts, load_split, part
from tests.matching.test_devset import HOLDOUT


def test_the_examples_are_written_from_the_tuning_data() -> None:
    expected = rendered()
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(expected)
    for name, text in expected.items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == text, (
            f"knowledge/examples/{name} is stale: run `.venv/bin/python -m tests.matching.examples`"
        )


def test_no_check_part_or_held_out_text_is_an_example() -> None:
    rows = [row for path in EXAMPLES.glob("*.yaml") for row in yaml.safe_load(path.read_text(encoding="utf-8"))]
    examples = {dedup_key(row["text"]) for row in rows} - {""}  # emoji-only and invisible texts share the empty key
    check = [p.text for p in part(load_posts(), "check", load_split())]
    holdout: Any = yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))
    measured_only = {dedup_key(text) for text in [*check, *(item["text"] for item in holdout)]}
    assert len(check) > 250
    assert not examples & measured_only
