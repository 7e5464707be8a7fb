"""Container names: Docker's validation rule and generated ``adjective_surname`` names."""

from __future__ import annotations

import random
import re

from cove.errors import InvalidArgument

_VALID = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

# A short list of our own; Docker's idea of pairing a mood with a famous name.
_LEFT = (
    "admiring",
    "agile",
    "amazing",
    "bold",
    "brave",
    "busy",
    "calm",
    "clever",
    "cool",
    "dazzling",
    "eager",
    "elastic",
    "epic",
    "fervent",
    "focused",
    "gallant",
    "gifted",
    "happy",
    "hopeful",
    "keen",
    "kind",
    "lucid",
    "modest",
    "nice",
    "nifty",
    "optimistic",
    "peaceful",
    "practical",
    "quirky",
    "relaxed",
    "serene",
    "sharp",
    "stoic",
    "sweet",
    "tender",
    "trusting",
    "upbeat",
    "vibrant",
    "wizardly",
    "youthful",
    "zealous",
)
_RIGHT = (
    "babbage",
    "bohr",
    "carson",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euler",
    "faraday",
    "fermi",
    "franklin",
    "galileo",
    "gauss",
    "goodall",
    "hamilton",
    "hopper",
    "hypatia",
    "johnson",
    "kepler",
    "knuth",
    "lamarr",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "newton",
    "noether",
    "pascal",
    "planck",
    "ritchie",
    "sagan",
    "shannon",
    "thompson",
    "tesla",
    "turing",
    "wozniak",
    "yonath",
)


def validate(name: str) -> str:
    """Return the name without its leading slash, or raise Docker's error."""
    if not _VALID.match(name):
        raise InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    return name.lstrip("/")


def generate(taken: set[str]) -> str:
    for _ in range(50):
        name = f"{random.choice(_LEFT)}_{random.choice(_RIGHT)}"
        if name not in taken:
            return name
    while True:
        name = f"{random.choice(_LEFT)}_{random.choice(_RIGHT)}{random.randint(1, 99)}"
        if name not in taken:
            return name
