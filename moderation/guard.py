"""Privacy guard: spot likely personal identifiers before they are posted.

``find_identifiers(text)`` looks for phone numbers (common national and
international formats), email addresses (also "name at host dot com") and
street-address-like text. It prefers missing an odd format to nagging about
times, prices, years and dates. ``check(text, confirmed)`` raises
``NeedsConfirmation`` until the author confirms; posts and chat call it.

Every pattern has bounded repetition and no nested quantifiers (no ReDoS); the
text is at most a post's length anyway.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum import errors

# A run of digits with single spaces, dots, dashes or brackets between them.
# Separators are required between groups, so a digit run splits only one way (no ReDoS).
_PHONE_RUN = re.compile(
    r"(?<![\w+/.,:(-])\+?\(?\d{1,12}\)?(?:[ .\-]{1,2}\(?\d{1,12}\)?){0,6}(?![\w/]|[.,:-]\d)"
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,4}")
_EMAIL_SPELLED = re.compile(
    r"\b[\w.+-]{1,64}\s{0,3}(?:\[at\]|\(at\)|\sat\s)\s{0,3}[A-Za-z0-9-]{1,63}\s{0,3}"
    r"(?:\[dot\]|\(dot\)|\sdot\s)\s{0,3}(?:com|net|org|co|uk|de|fr|es|br|in|ng|za|io)\b",
    re.IGNORECASE,
)
_CAP = r"[A-ZÀ-ÖØ-Þ][\wÀ-ÿ'’-]{1,30}"
_STREET_EN = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s(?:" + _CAP + r"\s){1,3}"
    r"(?i:street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|way|place|pl|court|ct|crescent|"
    r"terrace|gardens|boulevard|blvd|square|sq|grove|row|mews|parade|hill)\b\.?"
)
_STREET_ROMANCE = re.compile(
    r"\b(?:Calle|C/|Avenida|Avda\.?|Plaza|Paseo|Carrer|Rua|Travessa|Via|Viale|Piazza|Corso)\s"
    r"(?:(?:de|del|la|las|los|do|da|dos|das|di|della)\s){0,2}" + _CAP + r"(?:\s" + _CAP + r"){0,3}"
    r",?\s(?:n[.º°]?\s?)?\d{1,5}\b"
)
_STREET_FR = re.compile(
    r"(?:\b\d{1,4}(?:\s?(?:bis|ter))?,?\s)?\b(?i:rue|avenue|boulevard|bd|allée|impasse|chemin|quai|place)\s"
    r"(?:de\sla\s|de\sl['’]|du\s|des\s|de\s|d['’])" + r"[A-ZÀ-ÖØ-Þ][\wÀ-ÿ'’-]{1,30}"
)
_STREET_DE = re.compile(
    r"\b[A-ZÄÖÜ][a-zäöüß]{2,30}(?:straße|strasse|str\.|weg|platz|allee|gasse|ring)\s\d{1,4}[a-z]?\b"
)
_UK_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s?\d[A-Z]{2}\b")
_TIME = re.compile(r"^\d{1,2}[.:]\d{2}$")


@dataclass(frozen=True)
class Finding:
    kind: str  # "phone" | "email" | "address"
    text: str
    start: int
    end: int


# What each kind of finding is called in messages.
WHAT = {
    "phone": _l("This looks like a phone number: %(text)s"),
    "email": _l("This looks like an email address: %(text)s"),
    "address": _l("This looks like an address: %(text)s"),
}
MAX_FINDINGS_SHOWN = 10


class NeedsConfirmation(errors.NeedsConfirmation):
    """The text seems to hold personal information; the author must confirm to post it."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(
            _(
                "This looks like it has personal details in it (a phone number, an email or an "
                "address). Posting them can put you or someone else at risk. Take them out, or "
                "say that you really want to post it."
            ),
            describe_all(findings),
        )
        self.findings = findings


def describe(finding: Finding) -> str:
    """ "This looks like a phone number: 07700 900…" (the end left off, in case of shoulders)."""
    shown = finding.text
    if len(shown) > 4:
        keep = math.ceil(len(shown) * 0.75)
        shown = shown[:keep].rstrip() + "…"
    template = WHAT.get(finding.kind)
    if template is None:
        return _("This looks like personal information: %(text)s", text=shown)
    return template % {"text": shown}


def describe_all(findings: list[Finding]) -> list[str]:
    lines = [describe(f) for f in findings[:MAX_FINDINGS_SHOWN]]
    if len(findings) > MAX_FINDINGS_SHOWN:
        lines.append(_("… and %(num)d more.", num=len(findings) - MAX_FINDINGS_SHOWN))
    return lines


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    stripped = candidate.strip()
    if _TIME.match(stripped):
        return False
    if stripped.startswith("+") or stripped.startswith("00"):
        rest = digits[2:] if stripped.startswith("00") else digits
        return 10 <= len(rest) <= 15
    groups = re.split(r"[ .\-()]+", stripped.strip("()"))
    groups = [g for g in groups if g]
    if digits.startswith("0"):
        # National trunk prefix: UK 07xxx / 01 / 02, France 0x, Germany, Nigeria 080..., SA 0xx.
        if not 10 <= len(digits) <= 12:
            return False
        # "2019-2020-2021" style dates have 4-digit groups starting with 1/2; these start with 0.
        return True
    if len(digits) == 11 and len(groups) >= 2 and [len(g) for g in groups][-2:] == [5, 4]:
        return True  # Brazil (11) 91234-5678
    if len(digits) == 10 and digits[0] in "23456789":
        if len(groups) == 1:
            return True  # 9876543210, 5551234567
        sizes = [len(g) for g in groups]
        return sizes in ([3, 3, 4], [5, 5], [2, 4, 4], [2, 8], [3, 7])
    if len(digits) == 11 and digits[0] == "1":
        sizes = [len(g) for g in groups]
        return sizes == [1, 3, 3, 4]  # 1-800-555-0199
    return False


def find_identifiers(text: object) -> list[Finding]:
    """Likely personal identifiers in ``text``, in order of appearance."""
    if not isinstance(text, str) or not text:
        return []
    text = unicodedata.normalize("NFKC", text)
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, match: re.Match[str]) -> None:
        start, end = match.span()
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        found.append(Finding(kind, match.group(0).strip(), start, end))

    for pattern in (_EMAIL, _EMAIL_SPELLED):
        for match in pattern.finditer(text):
            add("email", match)
    for match in _PHONE_RUN.finditer(text):
        if _is_phone(match.group(0)):
            add("phone", match)
    for pattern in (_STREET_EN, _STREET_ROMANCE, _STREET_FR, _STREET_DE, _UK_POSTCODE):
        for match in pattern.finditer(text):
            add("address", match)
    return sorted(found, key=lambda f: f.start)


def check(text: object, confirmed: bool) -> list[Finding]:
    """Raise NeedsConfirmation if identifiers are found and the author has not confirmed."""
    findings = find_identifiers(text)
    if findings and not confirmed:
        raise NeedsConfirmation(findings)
    return findings
