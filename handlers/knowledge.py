"""The names the knowledge data defines, for query modules that match what a user typed against them.

handlers/ reads no files, so `templates/knowledge/reasons.yaml` is loaded by `bot/knowledge.py`, which
installs an `Index` here before the first question is answered (`bot/dispatch.py`). A query module
sees only names and flags; the sentences stay in the data and are rendered by templates.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReasonName:
    """One entry of reasons.yaml as a query module needs it: its name and how it may be spelled."""

    name: str
    legacy: bool = False
    #: Other spellings that mean exactly this reason.
    aliases: tuple[str, ...] = ()
    #: A family of reasons built from a prefix (`OutOf` + resource name): any reason that starts
    #: with it and is not an entry of its own is this entry.
    prefix: str = ""


@dataclass(frozen=True, slots=True)
class Index:
    """Everything the knowledge data names."""

    reasons: tuple[ReasonName, ...] = ()


class IndexMissing(LookupError):
    """A query module ran before bot/ installed the index (a wiring bug, never a user error)."""


_installed: list[Index] = []


def install(index: Index) -> None:
    """Make `index` the one every query module sees (replaces an earlier one)."""
    _installed[:] = [index]


def installed() -> Index:
    """The installed index; raises IndexMissing if bot/ has not installed one."""
    if not _installed:
        raise IndexMissing("the knowledge index is not installed (bot/knowledge.py install())")
    return _installed[0]
