"""Crisis resources per deployment region, from the table ``bot/crisis/regions.yml``.

The crisis replies themselves are responses in ``domain.yml`` (so they work when the
action server is down); the table is what code needs to know about the regions: which
codes exist, which default applies, the one-line banner the widget shows, and the
numbers every crisis reply for a region must contain (the tests hold the domain to it),
and the tap-to-call, tap-to-text and chat links the widget and Telegram show with every
crisis reply and banner (``links``; numbers from /work/shared/crisis-guidance.md). It is
read strictly, once, at import: a misspelt key must stop the assistant, not drop a line.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

TABLE = Path(__file__).resolve().parent / "regions.yml"
REGION_ENV_VAR = "CRISIS_REGION"
#: How each kind of link becomes an address: ``call`` and ``text`` dial a number.
_SCHEMES = {"call": "tel:", "text": "sms:", "chat": ""}


@dataclass(frozen=True)
class Link:
    """One tappable way to reach help: ``call`` (``tel:``), ``text`` (``sms:``) or ``chat`` (a web page)."""

    kind: str
    label: str
    href: str


@dataclass(frozen=True)
class Region:
    """What a person in one region needs to reach help now."""

    code: str
    name: str
    banner: str
    #: Strings every crisis reply for this region must contain (line and emergency).
    required_numbers: Tuple[str, ...]
    #: Tap-to-call, tap-to-text and chat links, most useful first; the last is the emergency call.
    links: Tuple[Link, ...] = ()

    def link_dicts(self) -> List[Dict[str, str]]:
        """The links as JSON-ready dicts (``kind``, ``label``, ``href``), for channel payloads."""
        return [asdict(link) for link in self.links]


def _load(path: Path) -> Tuple[str, Dict[str, Region], Dict[str, str]]:
    """The default code, the regions and the US specialist lines; any odd entry is an error."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def check(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(f"{path}: {what}")

    check(isinstance(data, dict) and set(data) == {"default", "regions", "us_specialist_numbers"},
          "expected exactly `default`, `regions` and `us_specialist_numbers`")  # fmt: skip
    regions: Dict[str, Region] = {}
    for code, entry in data["regions"].items():
        check(isinstance(entry, dict) and set(entry) == {"name", "banner", "required_numbers", "links"},
              f"region {code}: expected exactly name, banner, required_numbers and links")  # fmt: skip
        links = []
        for link in entry["links"]:
            kind = next((k for k in _SCHEMES if isinstance(link, dict) and k in link), None)
            check(kind is not None and set(link) == {kind, "to"} and all(isinstance(v, str) for v in link.values()),
                  f"region {code}: a link is {{call|text|chat: label, to: number or url}}, got {link!r}")  # fmt: skip
            links.append(Link(kind, link[kind], _SCHEMES[kind] + link["to"]))
        texts = [entry["name"], entry["banner"], *entry["required_numbers"]]
        check(all(isinstance(t, str) and t for t in texts), f"region {code}: name, banner and numbers must be text")
        regions[str(code)] = Region(str(code), entry["name"], entry["banner"], tuple(entry["required_numbers"]),
                                    tuple(links))  # fmt: skip
    check(data["default"] in regions, f"the default region {data['default']!r} is not in the table")
    return data["default"], regions, {str(k): str(v) for k, v in data["us_specialist_numbers"].items()}


#: The default region's code, the regions by code, and the specialist US lines for other
#: urgent disclosures by kind (named first in a US crisis reply of that kind).
DEFAULT_REGION, REGIONS, US_SPECIALIST_NUMBERS = _load(TABLE)


def _international(us_number: str) -> str:
    """``1-800-656-4673`` as a dialable ``+18006564673``."""
    return "+" + "".join(ch for ch in us_number if ch.isdigit())


def crisis_links(region: str, kind: str | None = None) -> List[Dict[str, str]]:
    """The tap targets for a crisis reply of ``kind`` in ``region``, most specific first.

    In the US a sexual-assault, domestic-violence or child-abuse reply names a specialist
    line first (``US_SPECIALIST_NUMBERS``); its call link comes before the region's own.
    """
    links = REGIONS[region].link_dicts() if region in REGIONS else []
    specialist = US_SPECIALIST_NUMBERS.get(kind or "") if region == "US" else None
    if specialist:
        links = [{"kind": "call", "label": f"Call {specialist}", "href": f"tel:{_international(specialist)}"}, *links]
    return links


def normalise_region(value: Any) -> str | None:
    """The region code for a user-supplied value, or ``None`` if it is not one we serve.

    Accepts any case and the common alias "UK"; anything else (wrong type, unknown code)
    is ignored rather than trusted, so metadata cannot break the crisis reply.
    """
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    code = "GB" if code == "UK" else code
    return code if code in REGIONS else None


def deployment_region() -> str:
    """The region configured for this deployment (``CRISIS_REGION``), default US."""
    return normalise_region(os.environ.get(REGION_ENV_VAR)) or DEFAULT_REGION
