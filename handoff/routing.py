"""Which professionals' group gets a case: rules in a YAML file that staff edit (`HANDOFF_ROUTING`), first match wins.

Without a file there is one group, `HANDOFF_CHAT_ID` with `HANDOFF_HOURS`, and it takes every case (the default).
With a file, each group has a name, its chat id from an environment variable (never a literal id in the repository),
its own office hours and optionally a fallback group for when it is closed. A rule picks a group by the case's
audience, risk, crisis category or the user's municipality (or a named region of municipalities); the first rule
that matches wins, and `default` takes what no rule matches. `handoff/routing.yml` is the example and explains the
syntax. The file is read and checked once, at start: a typo must stop the bot, not misroute a child in danger.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from handoff.hours import OfficeHours

DEFAULT_GROUP = "team"
"""The one group's name when there is no routing file (what cases of the single-group setup remember)."""
AUDIENCES = frozenset(("parent", "youth", "professional"))
RISKS = frozenset(("acute", "concern", "none"))
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_ENV = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_CONDITIONS = frozenset(("audience", "risk", "category", "municipality", "region"))


class RoutingError(ValueError):
    """The routing file cannot be used; the message says where and what to fix."""


@dataclass(frozen=True)
class CaseFacts:
    """What a rule may look at: nothing that identifies the user."""

    audience: str | None
    risk: str
    category: str
    """The crisis or concern category ("suicidal", "sleep"), or "request" when the user asked for a person."""
    municipality: str | None = None


@dataclass(frozen=True)
class Group:
    name: str
    chat_id: int | None
    """The Telegram supergroup; None only where no Telegram is involved (tests of the desk alone)."""
    hours: OfficeHours
    fallback: str | None = None
    """The group that takes this group's new cases while it is closed."""


@dataclass(frozen=True)
class Rule:
    """Conditions that must all hold (an empty set: any value), and the group that then gets the case."""

    group: str
    audiences: frozenset[str] = frozenset()
    risks: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()
    """Folded names (see `fold`), a named region already spelled out."""

    def matches(self, facts: CaseFacts) -> bool:
        place = fold(facts.municipality) if facts.municipality else None
        return (
            (not self.audiences or facts.audience in self.audiences)
            and (not self.risks or facts.risk in self.risks)
            and (not self.categories or facts.category in self.categories)
            and (not self.municipalities or place in self.municipalities)
        )


@dataclass(frozen=True)
class Routed:
    group: Group
    in_hours: bool
    """False: no group on the way (the chosen one, then its fallbacks) is open; the case stays with the chosen one."""


@dataclass(frozen=True)
class Routing:
    groups: Mapping[str, Group]
    rules: tuple[Rule, ...] = ()
    default: str = DEFAULT_GROUP
    _by_chat: Mapping[int, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_chat = {group.chat_id: name for name, group in self.groups.items() if group.chat_id is not None}
        object.__setattr__(self, "_by_chat", by_chat)

    @classmethod
    def single(cls, chat_id: int | None, hours: OfficeHours) -> Routing:
        """Today's setup: one group takes every case."""
        return cls({DEFAULT_GROUP: Group(DEFAULT_GROUP, chat_id, hours)})

    @classmethod
    def load(cls, path: Path, environ: Mapping[str, str], default_hours: str) -> Routing:
        try:
            with path.open(encoding="utf-8") as handle:
                spec = yaml.safe_load(handle)
        except OSError as error:
            raise RoutingError(f"{path}: cannot be read ({error.strerror})") from error
        except yaml.YAMLError as error:
            raise RoutingError(f"{path}: not valid YAML ({error})") from error
        return parse(spec, environ, default_hours, str(path))

    # -- deciding ----------------------------------------------------------------------------------------------

    def group(self, name: str | None) -> Group:
        """A case's group; a case from before routing (no name) or of a group since removed goes to the default."""
        return self.groups.get(name or "", self.groups[self.default])

    def chosen(self, facts: CaseFacts) -> Group:
        """The group of the first rule that matches, or the default group."""
        for rule in self.rules:
            if rule.matches(facts):
                return self.groups[rule.group]
        return self.groups[self.default]

    def route(self, facts: CaseFacts, now: datetime) -> Routed:
        """The chosen group if it is open, else the first open group on its fallback chain; with none open, the
        chosen group (the case is then handled as outside office hours there)."""
        chosen = self.chosen(facts)
        open_group = self.open_along(chosen, now)
        return Routed(open_group or chosen, open_group is not None)

    def open_along(self, start: Group, now: datetime) -> Group | None:
        for group in self._chain(start):
            if group.hours.is_open(now):
                return group
        return None

    def next_opening(self, start: Group, now: datetime) -> datetime | None:
        """When the first group on the chain opens (None: one of them is always open)."""
        openings = []
        for group in self._chain(start):
            opening = group.hours.next_opening(now)
            if opening is None and group.hours.always:
                return None
            if opening is not None:
                openings.append(opening)
        return min(openings) if openings else None

    def _chain(self, start: Group) -> list[Group]:
        chain: list[Group] = []
        seen: set[str] = set()
        group: Group | None = start
        while group is not None and group.name not in seen:
            chain.append(group)
            seen.add(group.name)
            group = self.groups.get(group.fallback) if group.fallback else None
        return chain

    # -- the group's side --------------------------------------------------------------------------------------

    @property
    def chat_ids(self) -> frozenset[int]:
        return frozenset(self._by_chat)

    def by_chat(self, chat_id: int) -> Group | None:
        name = self._by_chat.get(chat_id)
        return self.groups[name] if name is not None else None

    def owns(self, column: InstrumentedAttribute[str | None], name: str) -> ColumnElement[bool]:
        """SQL: a row belongs to group `name` (rows without a group belong to the default group)."""
        if name == self.default:
            return or_(column == name, column.is_(None))
        return column == name


def fold(name: str) -> str:
    """A place name compared without case, accents or extra spaces: "Súdwest-Fryslân" = "sudwest-fryslan"."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().replace("\u2019", "'").split())


# -- reading the file -----------------------------------------------------------------------------------------


def parse(spec: Any, environ: Mapping[str, str], default_hours: str, where: str) -> Routing:
    """Check everything at once; every problem is a RoutingError saying where it is."""
    if not isinstance(spec, dict):
        raise RoutingError(f"{where}: expected a mapping with groups, rules and default")
    _only(spec, {"groups", "regions", "rules", "default"}, where)
    raw_groups = spec.get("groups")
    if not isinstance(raw_groups, dict) or not raw_groups:
        raise RoutingError(f"{where}: 'groups' must name at least one group")
    groups = {str(name): _group(str(name), entry, environ, default_hours, where) for name, entry in raw_groups.items()}
    for group in groups.values():
        if group.fallback is not None and group.fallback not in groups:
            raise RoutingError(f"{where}: groups.{group.name}: fallback {group.fallback!r} is not a group")
        if group.fallback == group.name:
            raise RoutingError(f"{where}: groups.{group.name}: a group cannot be its own fallback")
    chats = [group.chat_id for group in groups.values()]
    if len(set(chats)) != len(chats):
        raise RoutingError(f"{where}: two groups have the same chat id; each group needs a Telegram group of its own")
    regions = _regions(spec.get("regions") or {}, where)
    raw_rules = spec.get("rules") or []
    if not isinstance(raw_rules, list):
        raise RoutingError(f"{where}: 'rules' must be a list")
    rules = tuple(_rule(entry, n, groups, regions, where) for n, entry in enumerate(raw_rules, start=1))
    default = str(spec.get("default") or "")
    if default not in groups:
        raise RoutingError(f"{where}: 'default' must name one of the groups ({', '.join(groups)}), got {default!r}")
    return Routing(groups, rules, default)


def _only(entry: dict[Any, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    unknown = set(map(str, entry)) - set(allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise RoutingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {known})")


def _group(name: str, entry: Any, environ: Mapping[str, str], default_hours: str, where: str) -> Group:
    here = f"{where}: groups.{name}"
    if not _NAME.fullmatch(name):
        raise RoutingError(f"{here}: a group name is lower-case letters, digits and _ (at most 32)")
    if not isinstance(entry, dict):
        raise RoutingError(f"{here}: expected chat_id_env, hours and fallback")
    _only(entry, {"chat_id_env", "hours", "fallback"}, here)
    variable = str(entry.get("chat_id_env") or "")
    if not _ENV.fullmatch(variable):
        raise RoutingError(f"{here}: chat_id_env must name an environment variable, e.g. HANDOFF_GROUP_NOORD")
    raw = environ.get(variable, "").strip()
    if not raw:
        raise RoutingError(f"{here}: the environment variable {variable} is not set (the group's chat id)")
    try:
        chat_id = int(raw)
    except ValueError as error:
        raise RoutingError(f"{here}: {variable} must be a group id such as -1001234567890") from error
    try:
        hours = OfficeHours.parse(str(entry.get("hours") or default_hours))
    except ValueError as error:
        raise RoutingError(f"{here}: {error}") from error
    fallback = entry.get("fallback")
    return Group(name, chat_id, hours, str(fallback) if fallback else None)


def _regions(raw: Any, where: str) -> dict[str, frozenset[str]]:
    if not isinstance(raw, dict):
        raise RoutingError(f"{where}: 'regions' must map a region's name to a list of municipalities")
    regions = {}
    for name, places in raw.items():
        if not isinstance(places, list) or not places or not all(isinstance(p, str) and p.strip() for p in places):
            raise RoutingError(f"{where}: regions.{name}: expected a list of municipality names")
        regions[str(name)] = frozenset(fold(place) for place in places)
    return regions


def _rule(
    entry: Any, number: int, groups: Mapping[str, Group], regions: Mapping[str, frozenset[str]], where: str
) -> Rule:
    here = f"{where}: rule {number}"
    if not isinstance(entry, dict):
        raise RoutingError(f"{here}: expected 'when' and 'group'")
    _only(entry, {"when", "group"}, here)
    group = str(entry.get("group") or "")
    if group not in groups:
        raise RoutingError(f"{here}: group {group!r} is not one of the groups ({', '.join(groups)})")
    when = entry.get("when") or {}
    if not isinstance(when, dict):
        raise RoutingError(f"{here}: 'when' must be a mapping such as {{audience: youth}}")
    _only(when, _CONDITIONS, here)
    audiences = _values(when, "audience", here)
    if audiences - AUDIENCES:
        unknown = ", ".join(sorted(audiences - AUDIENCES))
        raise RoutingError(f"{here}: unknown audience {unknown} (known: parent, youth, professional)")
    risks = _values(when, "risk", here)
    if risks - RISKS:
        raise RoutingError(f"{here}: unknown risk {', '.join(sorted(risks - RISKS))} (known: acute, concern, none)")
    categories = _values(when, "category", here)
    if any(not _NAME.fullmatch(category) for category in categories):
        raise RoutingError(f"{here}: a category is an identifier such as suicidal or child_unsafe")
    places = frozenset(fold(place) for place in _values(when, "municipality", here))
    for region in _values(when, "region", here):
        if region not in regions:
            raise RoutingError(f"{here}: region {region!r} is not listed under 'regions'")
        places |= regions[region]
    return Rule(group, audiences, risks, categories, places)


def _values(when: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    raw = when.get(key)
    if raw is None:
        return frozenset()
    items: Sequence[Any] = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise RoutingError(f"{where}: {key} must be a word or a list of words")
    return frozenset(str(item).strip() for item in items)
