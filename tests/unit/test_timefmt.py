"""util/timefmt and util/labels: the one copy of each, and the daylight-saving case that
image/filters.py once got wrong (a naive parse corrected by ``time.timezone``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from cove.image.base import Image
from cove.image.filters import created, parse_until
from cove.util.labels import labels_match
from cove.util.timefmt import (
    now_rfc3339,
    parse_rfc3339,
    parse_utc,
    rfc3339,
    rfc3339_local,
    rfc3339_nano,
)

T = 1_719_835_200  # 2024-07-01T12:00:00Z: summer, daylight saving on in Europe and the US


@pytest.fixture
def berlin() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_formats() -> None:
    ns = T * 1_000_000_000 + 120_000_000
    assert rfc3339_nano(ns) == "2024-07-01T12:00:00.12Z"
    assert rfc3339_nano(T * 1_000_000_000) == "2024-07-01T12:00:00Z"
    assert now_rfc3339(ns) == "2024-07-01T12:00:00.120000000Z"
    assert rfc3339(T + 0.9) == "2024-07-01T12:00:00Z"


def test_parse() -> None:
    assert parse_rfc3339("2024-07-01T12:00:00Z") == T
    assert parse_rfc3339("2024-07-01T12:00:00.5Z") == T + 0.5
    assert parse_rfc3339("2024-07-01T14:00:00+02:00") == T
    assert parse_rfc3339("2024-07-01T10:30:00.25-0130") == T + 0.25
    assert parse_rfc3339("0001-01-01T00:00:00Z") == 0.0
    assert parse_rfc3339("") == 0.0
    assert parse_rfc3339(now_rfc3339(T * 1_000_000_000)) == T
    with pytest.raises(ValueError):
        parse_rfc3339("yesterday")


@pytest.mark.usefixtures("berlin")
def test_utc_under_daylight_saving() -> None:
    assert parse_rfc3339("2024-07-01T12:00:00Z") == T
    assert parse_utc("2024-07-01T12:00:00", ("%Y-%m-%dT%H:%M:%S",)) == T
    img = Image(id="sha256:" + "0" * 64, config={"created": "2024-07-01T12:00:00Z"})
    assert created(img) == T
    assert parse_until("2024-07-01T12:00:00Z") == T


def test_labels() -> None:
    labels = {"a": "1", "b": ""}
    assert labels_match(labels, ["a", "b="])
    assert labels_match(labels, ["a=1"])
    assert not labels_match(labels, ["a=2"])
    assert not labels_match(labels, ["c"])
    assert labels_match(labels, [])
    assert labels_match(labels, ["c", "a=2"], negate=True)
    assert not labels_match(labels, ["c", "a"], negate=True)


@pytest.mark.usefixtures("berlin")
def test_local_time_with_its_offset() -> None:
    """What `docker history --format '{{.CreatedAt}}'` prints: local time and its offset."""
    assert rfc3339_local(T) == "2024-07-01T14:00:00+02:00"
    assert rfc3339_local(T - 182 * 86400) == "2024-01-01T13:00:00+01:00"  # winter: +01:00
    os.environ["TZ"] = "UTC"
    time.tzset()
    assert rfc3339_local(T) == "2024-07-01T12:00:00Z"
