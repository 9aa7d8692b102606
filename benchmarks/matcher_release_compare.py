"""Reads this checkout's real-world corpus (labels and split as they stand here) with another checkout's matcher.

Comparing releases like for like needs the same posts and labels on both sides: the corpus grows and labels are
reviewed between releases, so each release's own test figures are not comparable. Make a worktree of the older
release (`git worktree add /tmp/old <commit>`) and run, from this checkout's root:

    .venv/bin/python benchmarks/matcher_release_compare.py /tmp/old            # its figures on the check part
    .venv/bin/python benchmarks/matcher_release_compare.py .                   # this release's, for the other column
    .venv/bin/python benchmarks/matcher_release_compare.py /tmp/old --titles   # each post cut to its first line
    .venv/bin/python benchmarks/matcher_release_compare.py /tmp/old --files round35.yaml   # or --exclude ...

The other checkout's code and knowledge (its entries and its learnt examples) do the reading; it runs in a child
process so that its `bot` package, not this one's, is imported.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# Run inside the other checkout: its `bot` first on the path, this checkout's corpus reader loaded by file.
_CHILD = """
import importlib.util, sys
from pathlib import Path
other, here, part, files, exclude, titles = sys.argv[1:7]
sys.path.insert(0, other)
from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher
spec = importlib.util.spec_from_file_location("corpus", Path(here) / "tests" / "matching" / "realworld.py")
corpus = importlib.util.module_from_spec(spec)
sys.modules["corpus"] = corpus
spec.loader.exec_module(corpus)
data = Path(here) / "tests" / "data" / "realworld"
posts = corpus.load_posts(data)
split = corpus.load_split(data / "split.yaml")
if part != "all":
    posts = corpus.part(posts, part, split)
if files:
    posts = [p for p in posts if p.file in files.split(",")]
if exclude:
    posts = [p for p in posts if p.file not in exclude.split(",")]
if titles == "1":
    posts = corpus.titles(posts)
figures, _ = corpus.measure(Matcher(load_knowledge(Path(other) / "knowledge")), posts)
print(figures.line(f"{other} ({part}{', titles' if titles == '1' else ''})"))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="the checkout whose matcher reads the posts")
    parser.add_argument("--part", choices=("check", "tune", "all"), default="check")
    parser.add_argument("--files", default="", help="only these corpus files, comma-separated (round35.yaml,...)")
    parser.add_argument("--exclude", default="", help="leave out these corpus files, comma-separated")
    parser.add_argument("--titles", action="store_true", help="each post cut to its first line")
    args = parser.parse_args()
    other = args.checkout.resolve()
    arguments = [str(other), str(HERE), args.part, args.files, args.exclude, "1" if args.titles else "0"]
    subprocess.run([sys.executable, "-c", _CHILD, *arguments], check=True, cwd=other)  # noqa: S603


if __name__ == "__main__":
    main()
