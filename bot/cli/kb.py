"""`guidenest kb check`, `kb export` and `kb learned`: for the people who write the knowledge base."""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bot.cli import learned
from bot.cli.common import checked_knowledge, print_json, prints_help
from bot.knowledge.loader import check_knowledge

if TYPE_CHECKING:
    import argparse

    from bot.knowledge.model import KnowledgeBase
    from bot.settings import Settings


def register(subcommands: Any) -> None:
    kb = subcommands.add_parser("kb", help="check or export the knowledge base")
    actions = kb.add_subparsers(dest="kb_command", metavar="ACTION")
    kb.set_defaults(handler=prints_help(kb))
    check = actions.add_parser(
        "check",
        help="validate every knowledge file; exit 1 on any error",
        description="Validate knowledge/: prints file:line: problem for each, exits 1 on any error.",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="treat warnings (long answers, an as_of older than 12 months) as errors too",
    )
    check.set_defaults(handler=run_check)
    export = actions.add_parser("export", help="print the whole knowledge base as JSON")
    export.add_argument(
        "--json", action="store_true", help="JSON output (the only format; accepted for clarity)"
    )
    export.set_defaults(handler=run_export)
    learned.register(actions)


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    root = settings.knowledge_dir
    knowledge, problems = check_knowledge(root)
    for problem in problems:
        print(problem.format(root), file=sys.stderr if problem.severity == "error" else sys.stdout)
    errors = sum(problem.severity == "error" for problem in problems)
    warnings = len(problems) - errors
    if knowledge is None:
        print(f"{errors} error(s), {warnings} warning(s) in {root}", file=sys.stderr)
        return 1
    print(summary(knowledge) + (f", {warnings} warning(s)" if warnings else ""))
    return 1 if args.strict and warnings else 0


def summary(knowledge: KnowledgeBase) -> str:
    errors = {error.casefold() for entry in knowledge.entries.values() for error in entry.errors}
    return (
        f"OK: {len(knowledge.entries)} entries, {len(errors)} error strings, "
        f"{len(knowledge.ports)} ports, {len(knowledge.providers)} providers"
    )


def export(knowledge: KnowledgeBase) -> dict[str, Any]:
    return {
        "entries": [
            {
                "id": entry.id,
                "title": entry.title,
                "questions": list(entry.asks),
                "errors": list(entry.errors),
                "tags": list(entry.tags),
                "related": list(entry.related),
                "sources": [asdict(source) for source in entry.sources],
                "as_of": entry.as_of.strftime("%Y-%m") if entry.as_of is not None else None,
                "answer": entry.answer,
            }
            for entry in knowledge.entries.values()
        ],
        "ports": [asdict(row) for row in knowledge.ports],
        "providers": [asdict(provider) for provider in knowledge.providers],
    }


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    del args
    knowledge = checked_knowledge(settings)
    if knowledge is None:
        return 1
    print_json(export(knowledge))
    return 0
