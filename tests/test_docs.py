"""Every figure in the README and docs/ comes from a generated report or is checked here.

Hand-typed figures drift: the README once said 526 and 543 corpus messages when the files
held 533 and 545. So each figure a hand-written page states is rebuilt here from the code,
data or configuration that holds it, and the README may state no number that is not. The
generated pages (topics.md, crisis-rules.md, evaluation.md, benchmarks.md) carry their own
figures, and the hand-written pages point at them instead of copying them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from actions.decide import DEFAULT as THRESHOLDS
from actions.knowledge import SHORT_ANSWER_MAX_WORDS
from docgen.topics import MIN_HELD_OUT_EXAMPLES, MIN_TRAINING_EXAMPLES, README_MARKERS, missing_examples
from evaluation.corpus import load_first_contact
from tests.support import ROOT, load_yaml
from tests.test_nlu import MIN_ACCURACY

pytestmark = pytest.mark.unit


def _flat(text: str) -> str:
    """Text with line breaks and runs of spaces made single spaces, as a reader sees it."""
    return " ".join(text.split())


def _page(name: str) -> str:
    return _flat((ROOT / name).read_text(encoding="utf-8"))


def _source_has(path: str, snippet: str) -> bool:
    return snippet in (ROOT / path).read_text(encoding="utf-8")


def _makefile_default(variable: str) -> str:
    match = re.search(rf"^export {variable}\s*\?=\s*(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, f"Makefile no longer sets {variable}"
    return match.group(1)


def _constant(name: str) -> Any:
    """A module-level constant of ``bot/``, found by name wherever its module lives."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        match = re.search(rf"^{name}(?::[^=]*)? = (.+)$", path.read_text(encoding="utf-8"), re.M)
        if match:
            return ast.literal_eval(match.group(1).strip())
    raise AssertionError(f"no {name} in bot/")


def figures() -> Dict[str, List[str]]:
    """Per page, the phrases that state a figure, each written from what holds the figure."""
    from bot.channels.fastpath import (
        DEADLINE_MARGIN_SECONDS,
        DEFAULT_MAX_TURNS_IN_FLIGHT,
        DEFAULT_RESPONSE_TIMEOUT_SECONDS,
    )
    from bot.channels.inputs import MAX_BODY_BYTES, MAX_SENDER_ID_CHARS
    from bot.channels.limits import DEFAULT_RATE_LIMIT_PER_MINUTE, MAX_MESSAGE_CHARS
    from bot.crisis.conversation import SIGNALS_FOR_CHECK_IN, WINDOW
    from bot.crisis.screening import MAX_SCREENED_CHARS, MAX_WINDOWS, OVERLAP_CHARS, WINDOW_CHARS
    from bot.nlu.crisis_guard import CLASSIFIER_MIN_CONFIDENCE, QUESTION_MIN_CONFIDENCE
    from tests.test_soak import SENDERS, TURNS
    from training.risk_model import ANY_FALSE_ALARMS, CRISIS_FALSE_ALARMS, SIGNAL_FALSE_ALARMS

    action_timeout = _constant("DEFAULT_ACTION_TIMEOUT_SECONDS")
    config = load_yaml(ROOT / "config.yml")
    fallback = next(c["threshold"] for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    assert fallback == THRESHOLDS.floor, "the fallback threshold and the reply rule's floor differ"
    words = {2: "two", 6: "six"}
    soak_turns = re.search(r"SOAK_TURNS=(\d+)", (ROOT / "Makefile").read_text()).group(1)
    rasa = re.search(r"^rasa\[spacy\]==(\S+)$", (ROOT / "requirements.in").read_text(), re.M).group(1)
    port = _makefile_default("RASA_PORT")
    held_out_example = missing_examples(["sleep_and_therapy"], {"sleep_and_therapy": 99}, {"sleep_and_therapy": 3})
    return {
        "README.md": [
            f"Rasa Open Source {rasa}",
            "(.venv, Python 3.10)",
            "(Python 3.10 on `PATH`",
            "start the bot on 127.0.0.1",
            f"http://127.0.0.1:{port}/widget/",
            f"curl -s localhost:{port}/webhooks/rest/webhook",
            f"at most about {SHORT_ANSWER_MAX_WORDS} words",
            f"Add at least {MIN_TRAINING_EXAMPLES} training examples",
            f"at least {MIN_HELD_OUT_EXAMPLES} differently worded ones",
            held_out_example[0].split(", worded")[0],
        ],
        "docs/api.md": [
            f"`127.0.0.1:{port}` (`RASA_PORT`)",
            f"listens on {_makefile_default('ACTIONS_PORT')} (`ACTIONS_PORT`)",
            f"`sender` not a string of 1-{MAX_SENDER_ID_CHARS} characters",
            f"a body over {MAX_BODY_BYTES // 2**20} MB gets 413",
        ],
        "docs/architecture.md": [
            f"NLU confidence below {fallback} becomes `nlu_fallback`",
            f"is at least {THRESHOLDS.answer_min} and {THRESHOLDS.margin} ahead of the next",
            f"with the 2-{THRESHOLDS.max_candidates} likely topics as buttons",
            f"examples (at least {MIN_HELD_OUT_EXAMPLES} per intent)",
            f"asserts at least {MIN_ACCURACY} (`MIN_ACCURACY`)",
            f"a best-intent confidence under {fallback} becomes `nlu_fallback`",
        ],
        "docs/crisis.md": [
            f"at most {CRISIS_FALSE_ALARMS:.0%} of them may reach the crisis threshold, "
            f"{ANY_FALSE_ALARMS:.0%} the check-in threshold",
            f"the score that {SIGNAL_FALSE_ALARMS:.0%} of the hard harmless messages reach",
            f"confident guess of `crisis` ({CLASSIFIER_MIN_CONFIDENCE} or more) also escalates",
            f"when {words[SIGNALS_FOR_CHECK_IN]} of the person's latest {words[WINDOW]} messages",
            f"when it is sure of one ({QUESTION_MIN_CONFIDENCE} or more)",
        ],
        "docs/operations.md": [
            f"windows of {WINDOW_CHARS:,} characters, {OVERLAP_CHARS} shared",
            f"Message longer than **{MAX_MESSAGE_CHARS:,} characters** (`MAX_MESSAGE_CHARS`",
            f"as the {MAX_MESSAGE_CHARS:,}-character window that showed it",
            f"Message longer than **{MAX_SCREENED_CHARS:,} characters** (`MAX_SCREENED_CHARS`)",
            f"at most {MAX_WINDOWS} windows (`MAX_WINDOWS`)",
            f"More than **{DEFAULT_RATE_LIMIT_PER_MINUTE} messages a minute**",
            f"`sender` not 1-{MAX_SENDER_ID_CHARS} characters",
            f"body over {MAX_BODY_BYTES // 2**20} MB",
            f"at most **{action_timeout:.0f} s** per action (`ACTION_TIMEOUT`",
            f"(`RESPONSE_TIMEOUT`, {DEFAULT_RESPONSE_TIMEOUT_SECONDS:.0f} s)",
            f"at {DEADLINE_MARGIN_SECONDS:.0f} s before it "
            f"({DEFAULT_RESPONSE_TIMEOUT_SECONDS - DEADLINE_MARGIN_SECONDS:.0f} s)",
            f"At most {DEFAULT_MAX_TURNS_IN_FLIGHT} ordinary turns",
            f"runs {SENDERS} concurrent senders",
            f"`make test` runs {TURNS} turns; `make soak` runs {int(soak_turns):,}",
        ],
        "docs/testing.md": [
            f"(at least {MIN_ACCURACY}, `MIN_ACCURACY`)",
            f"a {TURNS}-turn soak with {SENDERS} concurrent senders (`make soak`: {int(soak_turns):,} turns)",
        ],
    }


#: Figures that live in a file the tests cannot import: (page, phrase, file, what the file says).
SOURCE_FIGURES: List[Tuple[str, str, str, str]] = [
    ("docs/operations.md", "as the non-root user 10001", "docker/Dockerfile.rasa", "USER 10001:10001"),
    ("docs/operations.md", "as the non-root user 10001", "docker/Dockerfile.actions", "USER 10001:10001"),
    ("docs/operations.md", "`python:3.10.19-slim-bookworm`", "docker/Dockerfile.rasa", "FROM python:3.10.19-slim"),
    ("docs/operations.md", "`python:3.10.19-slim-bookworm`", "docker/Dockerfile.actions", "FROM python:3.10.19-slim"),
    ("docs/operations.md", "two Rasa replicas", "docker-compose.yml", "replicas: 2"),
    ("docs/operations.md", "nginx on `127.0.0.1:8080`", "docker-compose.yml", "PUBLIC_BIND:-127.0.0.1}"),
    ("docs/operations.md", "nginx on `127.0.0.1:8080`", "docker-compose.yml", "PUBLIC_PORT:-8080}:8080"),
    ("docs/operations.md", "a secret of at least 32 characters", "scripts/run.sh", '"${#token}" -lt 32'),
    ("docs/operations.md", "runs pip-audit 2.10.1", "Makefile", "PIP_AUDIT_VERSION := 2.10.1"),
    ("docs/channels.md", "`socket.io-client` 4.8.4 is pinned", "bot/web/package.json", '"socket.io-client": "4.8.4"'),
    ("docs/channels.md", "44-px targets", "bot/web/widget.css", "min-height: 44px"),
    ("docs/channels.md", "fits a 360-px phone", "bot/web/widget.css", "360-px-wide phone"),
    ("docs/operations.md", "nested 100,000 levels", "tests/test_crisis_fastpath.py", "[500, 1_000, 5_000, 100_000]"),
    ("docs/operations.md", "chart: 2 replicas", "deploy/helm/values.yml", "replicaCount: 2"),
    ("docs/channels.md", "not 1-128 letters, digits, `-` or `_`", "bot/channels/socketio.py", "[A-Za-z0-9_-]{1,128}"),
    ("docs/channels.md", "(1-256 characters of `A-Z a-z 0-9 _ -`)", "bot/channels/telegram.py", "[A-Za-z0-9_-]{1,256}"),
    ("docs/testing.md", "(target p99 ≤ 1 s)", "bench/report.py", "TARGET_FAST_PATH_P99_MS = 1000.0"),
    ("docs/testing.md", "recall 100%", "tests/test_crisis_detector.py", "def test_recall_must_escalate_is_100_percent"),
    ("docs/testing.md", "false positives at most 5%", "tests/test_crisis_detector.py", "<= 0.05"),
    ("docs/operations.md", "holds it under 1 s", "tests/test_crisis_faults.py", "assert crisis_seconds < 1.0"),
    ("docs/architecture.md", "TF-IDF word (1-2) and character (2-5) n-grams", "bot/nlu/tfidf_scorer.py",
     'char_ngrams: Tuple[int, int] = (2, 5)'),
    ("docs/architecture.md", "TF-IDF word (1-2) and character (2-5) n-grams", "bot/nlu/tfidf_scorer.py",
     'TfidfVectorizer(ngram_range=(1, 2)'),
]


@pytest.mark.parametrize("page", sorted(figures()))
def test_figures_match_the_code_and_data(page: str) -> None:
    text = _page(page)
    stale = [phrase for phrase in figures()[page] if _flat(phrase) not in text]
    assert not stale, (
        f"{page} no longer states {stale}: a setting or the data changed, or the page was reworded; "
        "write the figure from its source (the phrases are built in tests/test_docs.py)"
    )


@pytest.mark.parametrize(("page", "phrase", "source", "snippet"), SOURCE_FIGURES)
def test_figures_match_the_files_they_describe(page: str, phrase: str, source: str, snippet: str) -> None:
    assert _flat(phrase) in _page(page), f"{page} no longer says {phrase!r}"
    assert _source_has(source, snippet), f"{page} says {phrase!r} but {source} no longer has {snippet!r}"


def _sample_conversation(readme: str) -> str:
    return readme.split("A sample conversation:", 1)[1].split("```text", 1)[1].split("```", 1)[0]


def _bot_turns(conversation: str) -> Iterator[str]:
    """Each bot message of the README's sample, without its notes and buttons."""
    turn: List[str] = []
    for line in conversation.splitlines() + ["You:"]:
        if line.startswith(("You:", "Bot:")) and turn:
            yield re.sub(r"\s+\(the [^)]*\)$", "", " ".join(turn))
            turn = []
        if line.startswith("Bot:"):
            turn.append(line[len("Bot:"):].strip())
        elif turn and line.startswith(" ") and not line.strip().startswith("[buttons"):
            turn.append(line.strip())


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield _flat(node)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_the_sample_conversation_quotes_real_replies() -> None:
    """Every fragment of the README's bot turns is in the knowledge file or the domain."""
    said = "\n".join(s for name in ("actions/knowledge.yml", "domain.yml") for s in _strings(load_yaml(ROOT / name)))
    turns = list(_bot_turns(_sample_conversation((ROOT / "README.md").read_text(encoding="utf-8"))))
    assert len(turns) >= 5, turns
    for turn in turns:
        for fragment in (f.strip() for f in turn.split("...")):
            if fragment:
                assert fragment in said, f"the README's sample conversation says {fragment!r}, which the bot never does"


def test_the_readme_states_no_unchecked_number() -> None:
    """Numbers in the README are generated, quoted from real replies or checked above."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = README_MARKERS
    readme = re.sub(re.escape(start) + ".*?" + re.escape(end), "", readme, flags=re.S)
    readme = re.sub(r"^\d+\. ", "", readme.replace(_sample_conversation(readme), ""), flags=re.M)
    readme = _flat(readme)
    for phrase in figures()["README.md"]:
        readme = readme.replace(_flat(phrase), "")
    numbers = re.findall(r"[^\s]*\d[^\s]*", readme)
    allowed = {"24/7"}  # the crisis lines' opening hours, as every US crisis reply in domain.yml says them
    assert all("24/7" in r for r in _strings(load_yaml(ROOT / "domain.yml")) if "988 Suicide" in r)
    unchecked = [n for n in numbers if n.strip("`*().,;:") not in allowed]
    assert not unchecked, f"README.md states {unchecked}: generate it, point at the report, or check it here"


def test_the_regions_table_matches_the_regions() -> None:
    from bot.crisis.regions import REGIONS, US_SPECIALIST_NUMBERS

    crisis = (ROOT / "docs" / "crisis.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([A-Z]+)`.*$", crisis, re.M)}
    assert set(rows) == set(REGIONS), f"docs/crisis.md lists {sorted(rows)}, bot/crisis/regions.yml {sorted(REGIONS)}"
    for code, region in REGIONS.items():
        missing = [number for number in region.required_numbers if number not in rows[code]]
        assert not missing, f"the {code} row of docs/crisis.md lacks {missing}"
    assert all(number in _flat(crisis) for number in US_SPECIALIST_NUMBERS.values())


def _links() -> Iterator[Tuple[Path, str]]:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+:", target) and re.search(r"[./]", target):
                yield page, target


def test_links_between_pages_resolve() -> None:
    broken = [
        f"{page.relative_to(ROOT)} -> {target}"
        for page, target in _links()
        if not (page.parent / target).exists()
    ]
    assert not broken, broken


#: Rows taken out of a first-contact batch after its figure was recorded (at risk, harmless),
#: as docs/crisis-generalisation.md itself says: rows of crisis_D, H, J, L, P and R matched evaluation-only text.
REMOVED_AFTER_SCORING = {
    "crisis_D": (0, 1), "crisis_H": (0, 1), "crisis_J": (0, 1), "crisis_L": (0, 1), "crisis_P": (0, 1),
    "crisis_R": (1, 0),
}


def test_first_contact_batch_sizes_match_the_batches() -> None:
    """The sizes recorded in docs/crisis-generalisation.md are those of the files scored."""
    page = (ROOT / "docs" / "crisis-generalisation.md").read_text(encoding="utf-8")
    recorded = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(
        r"^\| [\d-]+ \| (crisis_\w+) \|[^|]*\| (\d+) / (\d+) \|", page, re.M)}
    batches = load_first_contact()
    assert set(recorded) == {batch.name for batch in batches}, "every batch has its first-contact row"
    for batch in batches:
        labels = [label for label, _ in batch.rows]
        at_risk, harmless = sum(label != "none" for label in labels), labels.count("none")
        removed = REMOVED_AFTER_SCORING.get(batch.name, (0, 0))
        assert (at_risk + removed[0], harmless + removed[1]) == recorded[batch.name], (
            f"docs/crisis-generalisation.md records {batch.name} as {recorded[batch.name]}, "
            f"the file holds {at_risk} / {harmless}"
        )
