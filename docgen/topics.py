"""Writes everything a knowledge topic implies from ``actions/knowledge.yml`` (``make topics``).

A topic lives in one place, its entry in the knowledge file (plus its examples in the NLU
data). Its intent in ``domain.yml``, its rule in ``data/rules_topics.yml``, its row in
``docs/topics.md`` and its name in the README are derived from that entry by this script,
so they cannot drift; ``tests/test_topics.py`` fails, naming the file, when one is stale.
Small talk (``CONVERSATIONAL_TOPICS``) keeps its hand-written rules in ``data/rules.yml``.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Sequence

import yaml

from actions.knowledge import KNOWLEDGE_TOPICS, KnowledgeBase, load_knowledge

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "domain.yml"
RULES = ROOT / "data" / "rules_topics.yml"
TOPICS_DOC = ROOT / "docs" / "topics.md"
README = ROOT / "README.md"
TRAINING_DATA = ROOT / "data" / "nlu.yml"
HELD_OUT_DATA = ROOT / "tests" / "nlu_test_data.yml"

#: Examples only a person can write: enough for the classifier to learn a topic, and a few
#: differently worded ones it never sees, so the held-out accuracy measures the new topic too.
MIN_TRAINING_EXAMPLES = 25
MIN_HELD_OUT_EXAMPLES = 8

#: Markers of the generated block inside a hand-written file, per file (comment syntax differs).
DOMAIN_MARKERS = ("  # topics:start", "  # topics:end")
README_MARKERS = ("<!-- topics:start -->", "<!-- topics:end -->")
DO_NOT_EDIT = "Written by `make topics` from actions/knowledge.yml; do not edit by hand."


def render_domain_intents(topic_ids: Sequence[str]) -> str:
    """The knowledge intents of ``domain.yml``: one per topic, named as the topic."""
    return "\n".join([f"  # {DO_NOT_EDIT}"] + [f"  - {topic_id}" for topic_id in topic_ids])


def render_rules(topic_ids: Sequence[str]) -> str:
    """``data/rules_topics.yml``: each knowledge intent gets its curated answer, always."""
    rules = "".join(
        f"  - rule: answer {topic_id}\n"
        f"    steps:\n"
        f"      - intent: {topic_id}\n"
        f"      - action: action_answer_topic\n\n"
        for topic_id in topic_ids
    )
    return (
        f"# {DO_NOT_EDIT}\n"
        "# Every knowledge topic's intent gets its curated answer, so the same question always gets\n"
        "# the same reply. Small talk, follow-ups and the crisis rules are in data/rules.yml.\n"
        'version: "3.1"\n\nrules:\n' + rules.rstrip("\n") + "\n"
    )


def render_topic_table(kb: KnowledgeBase) -> str:
    """``docs/topics.md``: topic id, a question it answers, its sources, its review date."""
    rows = ["| Topic | Ask, for example | Sources | Reviewed |", "|---|---|---|---|"]
    for topic_id in KNOWLEDGE_TOPICS:
        topic = kb.topic(topic_id)
        extra = f" ({len(topic.variants)} specific answers)" if topic.variants else ""
        sources = "; ".join(kb.source_titles_of(topic))
        rows.append(f"| `{topic.id}`{extra} | {topic.question} | {sources} | {topic.reviewed} |")
    small_talk = ", ".join(f"`{t}`" for t in kb.topics if t not in KNOWLEDGE_TOPICS)
    return (
        f"# Topics\n\n{DO_NOT_EDIT}\n\n"
        f"The assistant answers {len(KNOWLEDGE_TOPICS)} topics about therapy, each a curated entry "
        "of `actions/knowledge.yml` with its sources. Ask any of these questions in your own words:\n\n"
        + "\n".join(rows)
        + f"\n\nSmall talk has entries too: {small_talk}.\n"
    )


def render_readme_topics(topic_ids: Sequence[str]) -> str:
    """The README's one-paragraph list of topic ids (the full table is in docs/topics.md)."""
    names = ", ".join(f"`{t}`" for t in topic_ids)
    text = f"{len(topic_ids)} topics ([docs/topics.md](docs/topics.md) gives a question and the sources of each): "
    text += f"{names}."
    return "\n".join(textwrap.wrap(text, width=92, break_on_hyphens=False, break_long_words=False))


def replace_block(text: str, markers: tuple[str, str], block: str, name: str) -> str:
    """``text`` with the lines between the two marker lines replaced by ``block``."""
    start, end = markers
    pattern = re.escape(start) + r"\n.*?" + re.escape(end)
    new_text, count = re.subn(pattern, lambda _: f"{start}\n{block}\n{end}", text, flags=re.S)
    if count != 1:
        raise SystemExit(f"{name} needs exactly one '{start.strip()}' ... '{end.strip()}' block")
    return new_text


def expected_files(kb: KnowledgeBase) -> Dict[Path, str]:
    """Every file this script writes, with the content it should have now."""
    blocks: Dict[Path, Callable[[str], str]] = {
        DOMAIN: lambda text: replace_block(text, DOMAIN_MARKERS, render_domain_intents(KNOWLEDGE_TOPICS), "domain.yml"),
        README: lambda text: replace_block(text, README_MARKERS, render_readme_topics(KNOWLEDGE_TOPICS), "README.md"),
    }
    files = {path: edit(path.read_text(encoding="utf-8")) for path, edit in blocks.items()}
    files[RULES] = render_rules(KNOWLEDGE_TOPICS)
    files[TOPICS_DOC] = render_topic_table(kb)
    return files


def example_counts(path: Path) -> Counter[str]:
    """Examples per intent in a Rasa NLU YAML file (one ``- `` line each, as Rasa reads them)."""
    with open(path, encoding="utf-8") as handle:
        blocks = yaml.safe_load(handle).get("nlu") or []
    return Counter(
        {
            block["intent"]: sum(1 for line in block.get("examples", "").splitlines() if line.lstrip().startswith("- "))
            for block in blocks
            if "intent" in block
        }
    )


def missing_examples(topic_ids: Sequence[str], training: Mapping[str, int], held_out: Mapping[str, int]) -> List[str]:
    """What a person still has to write for each topic, one sentence per gap."""
    problems = []
    for topic_id in topic_ids:
        if training.get(topic_id, 0) < MIN_TRAINING_EXAMPLES:
            problems.append(
                f"topic '{topic_id}' has {training.get(topic_id, 0)} training examples in data/nlu.yml "
                f"(under '- intent: {topic_id}'); it needs at least {MIN_TRAINING_EXAMPLES}"
            )
        if held_out.get(topic_id, 0) < MIN_HELD_OUT_EXAMPLES:
            problems.append(
                f"topic '{topic_id}' has {held_out.get(topic_id, 0)} held-out examples in tests/nlu_test_data.yml; "
                f"it needs at least {MIN_HELD_OUT_EXAMPLES}, worded differently from the training ones"
            )
    return problems


def main() -> None:
    """Rewrites the derived files that differ from the knowledge file, then lists what is missing."""
    for path, content in expected_files(load_knowledge()).items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    problems = missing_examples(KNOWLEDGE_TOPICS, example_counts(TRAINING_DATA), example_counts(HELD_OUT_DATA))
    for problem in problems:
        print(f"missing: {problem}")
    if problems:
        raise SystemExit(1)
    print("every topic's derived files and examples are in place; `make test` retrains if domain.yml or data/ changed")


if __name__ == "__main__":
    main()
