"""Writes the README's topic list from actions/knowledge.yml (``make readme``).

The README must never drift from the knowledge file; a test compares the two.
"""

from __future__ import annotations

import re
from pathlib import Path

from actions.knowledge import KNOWLEDGE_TOPICS, KnowledgeBase, load_knowledge

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- topics:start -->", "<!-- topics:end -->"


def render_topic_table(kb: KnowledgeBase) -> str:
    """A Markdown table: topic id, a question it answers, its sources, its review date."""
    rows = ["| Topic | Ask, for example | Sources | Reviewed |", "|---|---|---|---|"]
    for topic_id in KNOWLEDGE_TOPICS:
        topic = kb.topic(topic_id)
        extra = f" ({len(topic.variants)} specific answers)" if topic.variants else ""
        sources = "; ".join(kb.source_titles_of(topic))
        rows.append(f"| `{topic.id}`{extra} | {topic.question} | {sources} | {topic.reviewed} |")
    return "\n".join(rows)


def main() -> None:
    """Replaces the block between the topic markers in README.md."""
    text = README.read_text(encoding="utf-8")
    block = f"{START}\n{render_topic_table(load_knowledge())}\n{END}"
    new_text, count = re.subn(re.escape(START) + r".*?" + re.escape(END), block, text, flags=re.S)
    if count != 1:
        raise SystemExit(f"README.md needs exactly one {START} ... {END} block")
    README.write_text(new_text, encoding="utf-8")


if __name__ == "__main__":
    main()
