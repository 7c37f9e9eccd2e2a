"""Crisis resources per deployment region.

The crisis replies themselves are responses in ``domain.yml`` (so they work when the
action server is down); this table is what code needs to know about the regions: which
codes exist, which default applies, the one-line banner the widget shows, and the
numbers every crisis reply for a region must contain (the tests hold the domain to it),
and the tap-to-call, tap-to-text and chat links the widget and Telegram show with every
crisis reply and banner (``links``; numbers from /work/shared/crisis-guidance.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Tuple

DEFAULT_REGION = "US"
REGION_ENV_VAR = "CRISIS_REGION"


@dataclass(frozen=True)
class Link:
    """One tappable way to reach help: ``call`` (``tel:``), ``text`` (``sms:``) or ``chat`` (a web page)."""

    kind: str
    label: str
    href: str

    def as_dict(self) -> Dict[str, str]:
        return {"kind": self.kind, "label": self.label, "href": self.href}


def _call(label: str, digits: str) -> Link:
    return Link("call", label, f"tel:{digits}")


def _text(label: str, digits: str, body: str = "") -> Link:
    return Link("text", label, f"sms:{digits}" + (f"?body={body}" if body else ""))


def _chat(label: str, url: str) -> Link:
    return Link("chat", label, url)


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
        return [link.as_dict() for link in self.links]


REGIONS: Mapping[str, Region] = {
    region.code: region
    for region in (
        Region(
            "US", "United States", "In crisis? Call or text 988. Emergency: 911.", ("988", "911"),
            (_call("Call 988", "988"), _text("Text 988", "988"),
             _chat("Chat at 988lifeline.org", "https://988lifeline.org/"), _call("Emergency: call 911", "911")),
        ),
        Region(
            "CA", "Canada", "In crisis? Call or text 9-8-8. Emergency: 911.", ("9-8-8", "911"),
            (_call("Call 9-8-8", "988"), _text("Text 9-8-8", "988"),
             _chat("988.ca", "https://988.ca/"), _call("Emergency: call 911", "911")),
        ),
        Region(
            "GB", "United Kingdom", "In crisis? Call Samaritans on 116 123. Emergency: 999.", ("116 123", "999"),
            (_call("Call Samaritans: 116 123", "116123"),
             _chat("Samaritans online", "https://www.samaritans.org/"), _call("Emergency: call 999", "999")),
        ),
        Region(
            "IE",
            "Ireland",
            "In crisis? Call Samaritans on 116 123 or text 50808. Emergency: 112 or 999.",
            ("116 123", "50808", "112", "999"),
            (_call("Call Samaritans: 116 123", "116123"), _text("Text 50808", "50808"),
             _chat("Samaritans Ireland online", "https://www.samaritans.org/ireland/"),
             _call("Emergency: call 112", "112")),
        ),
        Region(
            "AU", "Australia", "In crisis? Call Lifeline on 13 11 14. Emergency: 000.", ("13 11 14", "000"),
            (_call("Call Lifeline: 13 11 14", "131114"),
             _chat("Lifeline online", "https://www.lifeline.org.au/"), _call("Emergency: call 000", "000")),
        ),
        Region(
            "NZ", "New Zealand", "In crisis? Call or text 1737. Emergency: 111.", ("1737", "111"),
            (_call("Call 1737", "1737"), _text("Text 1737", "1737"),
             _chat("1737.org.nz", "https://1737.org.nz/"), _call("Emergency: call 111", "111")),
        ),
        Region(
            "OTHER",
            "Anywhere else",
            "In crisis? Find a free helpline at findahelpline.com or call your local emergency number.",
            ("findahelpline.com", "emergency number"),
            (_chat("Find a helpline: findahelpline.com", "https://findahelpline.com/"),),
        ),
    )
}

#: Specialist US lines for other urgent disclosures (crisis-guidance.md, verified numbers).
US_SPECIALIST_NUMBERS: Mapping[str, str] = {
    "sexual_assault": "1-800-656-4673",
    "domestic_violence": "1-800-799-7233",
    "child_abuse": "1-800-422-4453",
}


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
