"""Privacy guard: a table of identifiers it must catch and ordinary text it must leave alone."""

from __future__ import annotations

import time

import pytest

from forum.errors import Invalid
from moderation import guard

POSITIVE = [
    ("call me on 07700 900123", "phone"),
    ("+44 7700 900123", "phone"),
    ("+44 (0)20 7946 0958", "phone"),
    ("+1 (555) 123-4567", "phone"),
    ("555-123-4567", "phone"),
    ("555.123.4567", "phone"),
    ("1-800-555-0199", "phone"),
    ("+33 6 12 34 56 78", "phone"),
    ("06 12 34 56 78", "phone"),
    ("06.12.34.56.78", "phone"),
    ("+49 151 23456789", "phone"),
    ("0151 23456789", "phone"),
    ("+91 98765 43210", "phone"),
    ("9876543210", "phone"),
    ("+234 803 123 4567", "phone"),
    ("0803 123 4567", "phone"),
    ("+55 11 91234-5678", "phone"),
    ("(11) 91234-5678", "phone"),
    ("+27 82 123 4567", "phone"),
    ("082 123 4567", "phone"),
    ("07700-900-123", "phone"),
    ("0044 20 7946 0958", "phone"),
    ("ring ０７７００ ９００１２３", "phone"),
    ("mail me: jo.doe+x@example.co.uk", "email"),
    ("jo at gmail dot com", "email"),
    ("I live at 12 High Street", "address"),
    ("flat at 221B Baker Street", "address"),
    ("Calle Mayor 5", "address"),
    ("Avenida de la Constitución 12", "address"),
    ("12 rue de Rivoli", "address"),
    ("elle habite rue de la Paix", "address"),
    ("Hauptstraße 12", "address"),
    ("postcode SW1A 1AA", "address"),
    ("Rua Augusta 200", "address"),
]
NEGATIVE = [
    "see you at 10:30",
    "it costs £1,250.00",
    "back in 1999",
    "2019-2020",
    "between 2019 and 2023",
    "on 12.05.2024",
    "I made $300 tonight",
    "call at 3pm",
    "version 3.14.159",
    "I walked 2 hours on the street",
    "room 12",
    "I rue the day",
    "it was 5 Stars",
    "my rate is 150/hr",
    "page 12 of 30",
    "12/05/2024",
    "open 9-5",
    "10,000,000 views",
    "2024-05-12",
    "a 1000 year old tree",
    "at 18:45 on 03/04",
    "ref 1234-5678",
    "Street smarts matter",
    "we met at the Main Street cafe",
    "ISO 8601 says 2024-05-12T10:30",
    "1.5 million people",
    "top 10 tips",
    "",
]


@pytest.mark.parametrize(("text", "kind"), POSITIVE)
def test_finds_identifiers(text, kind):
    assert [f.kind for f in guard.find_identifiers(text)] == [kind], text


@pytest.mark.parametrize("text", NEGATIVE)
def test_leaves_ordinary_text_alone(text):
    assert guard.find_identifiers(text) == []


def test_check_asks_for_confirmation():
    with pytest.raises(guard.NeedsConfirmation) as caught:
        guard.check("text me 07700 900123", confirmed=False)
    assert isinstance(caught.value, Invalid) and caught.value.status == 422
    assert "phone number" in caught.value.message and caught.value.findings[0].kind == "phone"
    assert guard.check("text me 07700 900123", confirmed=True)[0].kind == "phone"
    assert guard.check("nothing here", confirmed=False) == []
    assert guard.find_identifiers(None) == [] and guard.find_identifiers(["x"]) == []


@pytest.mark.parametrize(
    "hostile", ["1" * 20000, "1 " * 10000, "a@" * 10000, "+(" * 10000, "12 " + "Ab " * 6000]
)
def test_hostile_text_is_fast(hostile):
    start = time.perf_counter()
    guard.find_identifiers(hostile)
    assert time.perf_counter() - start < 1.0
