"""Crisis resources per deployment region.

The crisis replies themselves are responses in ``domain.yml`` (so they work when the
action server is down); this table is what code needs to know about the regions: which
codes exist, which default applies, the one-line banner the widget shows, and the
numbers every crisis reply for a region must contain (the tests hold the domain to it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Tuple

DEFAULT_REGION = "US"
REGION_ENV_VAR = "CRISIS_REGION"


@dataclass(frozen=True)
class Region:
    """What a person in one region needs to reach help now."""

    code: str
    name: str
    banner: str
    #: Strings every crisis reply for this region must contain (line and emergency).
    required_numbers: Tuple[str, ...]


REGIONS: Mapping[str, Region] = {
    region.code: region
    for region in (
        Region("US", "United States", "In crisis? Call or text 988. Emergency: 911.", ("988", "911")),
        Region("CA", "Canada", "In crisis? Call or text 9-8-8. Emergency: 911.", ("9-8-8", "911")),
        Region("GB", "United Kingdom", "In crisis? Call Samaritans on 116 123. Emergency: 999.", ("116 123", "999")),
        Region(
            "IE",
            "Ireland",
            "In crisis? Call Samaritans on 116 123 or text 50808. Emergency: 112 or 999.",
            ("116 123", "50808", "112", "999"),
        ),
        Region("AU", "Australia", "In crisis? Call Lifeline on 13 11 14. Emergency: 000.", ("13 11 14", "000")),
        Region("NZ", "New Zealand", "In crisis? Call or text 1737. Emergency: 111.", ("1737", "111")),
        Region(
            "OTHER",
            "Anywhere else",
            "In crisis? Find a free helpline at findahelpline.com or call your local emergency number.",
            ("findahelpline.com", "emergency number"),
        ),
    )
}

#: Specialist US lines for other urgent disclosures (crisis-guidance.md, verified numbers).
US_SPECIALIST_NUMBERS: Mapping[str, str] = {
    "sexual_assault": "1-800-656-4673",
    "domestic_violence": "1-800-799-7233",
    "child_abuse": "1-800-422-4453",
}


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
