"""knowledge/examples/, written from the data the matcher may be tuned on — and only from it.

The re-ranker (bot/matching/reranker.py) learns from the entries' phrasings and from these examples: the
development set (tests/data/devset.yaml) and the tuning part of the real-world corpus (tests/data/realworld/).
The check part and the held-out set never go in (tests/matching/test_examples.py checks both). After changing
either source, write the files again:
    .venv/bin/python -m tests.matching.examples
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.matching.realworld import load_posts, load_split, part

EXAMPLES = Path(__file__).resolve().parents[2] / "knowledge" / "examples"
DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset.yaml"

_HEADERS = {
    "real-posts.yaml": (
        "# Real public posts and the entries that answer them (the best first, then `also`; null: leave it alone),\n"
        "# from the tuning part of tests/data/realworld/. Written by `python -m tests.matching.examples`; edit the\n"
        "# corpus, not this file.\n"
    ),
    "messages.yaml": (
        "# Chat messages and pasted errors as members write them, from tests/data/devset.yaml (null: chatter and\n"
        "# other tools' problems). Written by `python -m tests.matching.examples`; edit the set, not this file.\n"
    ),
}


class _Block(yaml.SafeDumper):
    """Multi-line texts as literal blocks, so the files read like the posts."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Block.add_representer(str, _text)


def example_rows() -> dict[str, list[dict[str, Any]]]:
    tune = part(load_posts(), "tune", load_split())
    posts = [
        {
            "entry": post.expect[0] if post.kind == "mail" else None,
            **({"also": list(post.expect[1:])} if post.kind == "mail" and len(post.expect) > 1 else {}),
            "source": post.source,
            "text": post.text.strip(),
        }
        for post in tune
    ]
    devset: Any = yaml.safe_load(DEVSET.read_text(encoding="utf-8"))
    messages = [{"entry": item.get("expect"), "text": str(item["text"]).strip()} for item in devset]
    return {"real-posts.yaml": posts, "messages.yaml": messages}


def rendered() -> dict[str, str]:
    return {
        name: _HEADERS[name] + yaml.dump(rows, Dumper=_Block, allow_unicode=True, sort_keys=False, width=100)
        for name, rows in example_rows().items()
    }


def main() -> None:
    EXAMPLES.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (EXAMPLES / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
