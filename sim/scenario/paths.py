"""Dotted paths into the scenario schema (``walmart.walmart_plus.fee_annual``)."""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .types import bare

if TYPE_CHECKING:
    from .schema import Scenario

# Blocks an event may change while a run is under way. The others shape the run itself
# (calendar, population, geography draws, seed) and can only be set before it starts.
EVENT_BLOCKS = ("amazon", "walmart", "kroger", "rivals", "shoppers", "memberships", "economics", "returns")
# Values read once, when the households are drawn at the start: an event that set one would change
# nothing (the households keep their draws), so events may not.
DRAWN_ONCE = ("shoppers.weekly_budget_usd", "shoppers.budget_income_elasticity", "shoppers.price_utility_per_usd",
              "shoppers.price_income_elasticity", "shoppers.price_sigma", "shoppers.value_of_time_share_of_wage",
              "shoppers.firm_taste_sd_usd", "shoppers.walmart_online_taste_sd_usd", "memberships.taste_sd_usd",
              "memberships.walmart_plus_taste_sd_usd", "memberships.taste_correlation",
              "memberships.prime_initial_consideration", "memberships.walmart_plus_initial_consideration")


def drawn_once(dotted: str) -> str | None:
    """Why an event may not set ``dotted`` (a value the households are drawn from), or None."""
    for path in DRAWN_ONCE:
        if dotted == path or dotted.startswith(path + "."):
            return (f"'{path}' is read once, when the households are drawn at the start, so an event would change "
                    "nothing; set it at the top of the scenario")
    return None


# Blocks whose values a sweep may vary and a calibration may fit (the world's set-up too).
PARAMETER_BLOCKS = ("population", "geography", "shoppers", "memberships", "economics", "returns", "amazon", "walmart",
                    "kroger", "rivals")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``X``, ``X | None``, ``list[X]`` or ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is dict:
        return _model_in(typing.get_args(annotation)[-1]) if typing.get_args(annotation) else None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def is_block(root: type[BaseModel], dotted: str) -> bool:
    """Whether ``dotted`` names a block of ``root`` (a model's worth of keys), not a value (a number, a
    date, a by-year mapping)."""
    parts = tuple(dotted.split("."))
    model = model_at(root, parts)
    field = model.model_fields.get(parts[-1]) if model is not None else None
    return field is not None and typing.get_origin(field.annotation) not in (dict, list) and \
        _model_in(field.annotation) is not None


def model_at(root: type[BaseModel], parts: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the key at ``parts[-1]`` (list indexes, and the keys of a mapping of
    models such as a sweep's ``outcomes``, are skipped)."""
    model: type[BaseModel] | None = root
    keyed = False  # the part is a key of a mapping of models
    for part in parts[:-1]:
        if isinstance(part, int) or model is None or keyed:
            keyed = False
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _model_in(field.annotation)
        keyed = typing.get_origin(field.annotation) is dict
    return model


# Scenario keys that were renamed: old dotted path -> (new dotted path, what changed). A file that
# still uses an old key fails with a message naming the new one (CHANGELOG.md lists them).
RENAMED = {
    "shoppers.habit_weight": ("shoppers.habit_share_of_basket", "a share of the category's basket in dollars, "
                              "not utility"),
    "shoppers.offline_penalty": ("shoppers.offline_penalty_usd", "dollars an order, not utility"),
    "amazon.ai.personalization_utility": ("amazon.ai.personalization_value_usd_per_order", "dollars, not utility"),
    "amazon.health.kiosk_utility": ("amazon.health.kiosk_value_usd_per_order", "dollars, not utility"),
    "amazon.whole_foods.fresh_grocery_utility": ("amazon.whole_foods.fresh_grocery_value_usd_per_order",
                                                 "dollars, not utility"),
    "walmart.ai.service_quality_gain": ("walmart.ai.service_value_usd_per_order", "dollars, not utility"),
    "walmart.health.clinic_utility": ("walmart.health.clinic_value_usd_per_order",
                                      "dollars, and only near a clinic in walmart.health.clinic_states"),
    "walmart.store_services.utility_at_full": ("walmart.store_services.value_per_trip_usd",
                                               "dollars a trip, at the stores that offer the services"),
    "walmart.agentic.partner_utility": ("walmart.agentic.partner_value_usd_per_order", "dollars, not utility"),
    "rivals.turnaround.service_gain_at_full": ("kroger.turnaround.service_gain_usd_per_order_at_full",
                                               "Kroger is a firm of its own; dollars, not utility"),
    "kroger.turnaround.service_gain_at_full": ("kroger.turnaround.service_gain_usd_per_order_at_full",
                                               "dollars, not utility"),
    "economics.store_cost_per_trip_usd": ("walmart.accounts.store_labour_share_of_sales",
                                          "store costs are per dollar of sales and per store in each firm's "
                                          "accounts block (walmart., kroger., rivals.accounts)"),
    "economics.rival_online_cost_per_order_usd": ("rivals.accounts.online_cost_per_order_usd",
                                                  "each grocer's own accounts block (and kroger.accounts)"),
    "amazon.ads.revenue_per_active_household_week_usd": ("amazon.ads.revenue_share_of_sales",
                                                         "advertising grows with shopper spend"),
    "walmart.ads.revenue_per_active_household_week_usd": ("walmart.ads.revenue_share_of_sales",
                                                          "advertising grows with shopper spend"),
    "amazon.rural.rural_households_per_station": ("amazon.rural.station_area_sq_mi",
                                                  "a station serves an area; its households follow from "
                                                  "where it is built (the 2020 Census's rural counties)"),
    "amazon.rural.towns_per_station": ("amazon.rural.rural_households_per_town",
                                       "towns follow from the households a station newly reaches"),
    "amazon.rural.next_day_gain_per_same_day": ("amazon.rural.next_day_area_per_same_day",
                                                "a station's next-day area over its same-day area"),
    "population.us_households": ("population.households", "a number is a flat count (households: 131.4e6); "
                                 "by default, US households by year, interpolated between mid-years"),
}
# Blocks that moved: every key under the old block now lives under the new one.
MOVED = {"rivals.turnaround": ("kroger.turnaround", "Kroger is a firm of its own, apart from the other rivals")}


def renamed(dotted: str) -> str | None:
    """The message for a renamed key, or None."""
    if dotted in RENAMED:
        new, what = RENAMED[dotted]
        return f"'{dotted.rsplit('.', 1)[-1]}' was renamed '{new}' ({what}; see CHANGELOG.md)"
    for old, (new, what) in MOVED.items():
        if dotted == old or dotted.startswith(old + "."):
            return f"'{old}' moved to '{new}{dotted[len(old):]}' ({what}; see CHANGELOG.md)"
    return None


def suggest(name: str, choices: list[str]) -> str:
    """A "did you mean" hint, or the list of valid keys when nothing is close."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "valid keys: " + ", ".join(sorted(choices))


def check_path(root: type[BaseModel], dotted: str, blocks: tuple[str, ...] = EVENT_BLOCKS,
               why: str = "cannot change during a run; events may set paths under",
               years: bool = False) -> str | None:
    """Why ``dotted`` is not a settable path under ``blocks``, or ``None`` when it is. With
    ``years``, a path may end in one year of a by-year mapping (``economics.price_level.index.2027``)."""
    parts = tuple(dotted.split("."))
    if parts[0] not in blocks:
        return f"'{parts[0]}' {why} " + ", ".join(blocks)
    model: type[BaseModel] | None = root
    annotation: Any = None
    for depth, part in enumerate(parts):
        if model is None:
            if years and depth == len(parts) - 1 and _by_year(annotation):
                return None if part.isdigit() else f"'{part}' is not a year of '{'.'.join(parts[:depth])}'"
            return f"'{'.'.join(parts[:depth])}' is a value, not a block"
        if part not in model.model_fields:
            if renamed(".".join(parts[:depth + 1])):
                return renamed(".".join(parts[:depth + 1]))
            where = ".".join(parts[:depth]) or "the scenario"
            return f"unknown key '{part}' in {where}; {suggest(part, list(model.model_fields))}"
        annotation = model.model_fields[part].annotation
        model = _model_in(annotation)
    return None


def _by_year(annotation: Any) -> bool:
    """Whether a field holds a mapping of years (int keys) to values, alone or as one option."""
    annotation = bare(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_by_year(option) for option in typing.get_args(annotation))
    return typing.get_origin(annotation) is dict and bare(typing.get_args(annotation)[0]) is int


def _key(node: dict[Any, Any], part: str) -> Any:
    """``part`` as ``node`` holds it: a year of a by-year mapping is an int once validated."""
    return int(part) if part not in node and part.isdigit() and int(part) in node else part


def set_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the value at ``dotted`` replaced (creating blocks on the way)."""
    result = copy.deepcopy(data)
    node = result
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    last = parts[-1]
    if last.isdigit():  # a year: the defaults hold it as text, a file as a number; replace both
        node.pop(last, None)
        node.pop(int(last), None)
    node[last] = value
    return result


def get_path(data: Any, dotted: str) -> Any:
    """The value at ``dotted`` in nested dicts or pydantic models."""
    node = data
    for part in dotted.split("."):
        node = node[_key(node, part)] if isinstance(node, dict) else getattr(node, part)
    return node


DATED = "@"  # ``path@DATE`` in a run's changes: the value from that date (an event), not from the start


def leaf_keys(data: Mapping[str, Any], prefix: str = "") -> set[str]:
    """The dotted keys of a nested mapping's leaves (a block's keys, each of its blocks' keys, ...)."""
    keys: set[str] = set()
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        keys |= leaf_keys(value, f"{dotted}.") if isinstance(value, Mapping) and value else {dotted}
    return keys


def dated_label(dotted: str, date: str) -> str:
    """The label of the event a ``path@DATE`` change becomes (``override``): how it is told apart
    from the scenario's own events."""
    return f"{dotted} from {date}"[:200]


def events_setting(events, paths: list[str], after=None) -> list[tuple[Any, str]]:
    """The events, in date order, that set one of ``paths`` (or a value within or around one), each
    with the key it sets: all of them, or those dated after ``after`` (a change dated ``after`` follows
    the events of its own date)."""
    mine = [tuple(path.split(".")) for path in paths]
    found = []
    for event in sorted(events, key=lambda event: event.date):
        if after is not None and event.date <= after:
            continue
        theirs = [tuple(key.split(".")) for key in sorted(leaf_keys(event.set))]
        hit = next((leaf for leaf in theirs for own in mine if leaf[:len(own)] == own or own[:len(leaf)] == leaf), None)
        if hit is not None:
            found.append((event, ".".join(hit)))
    return found


def reset_by_events(scenario: Scenario, overrides: Mapping[str, Any], option: str = "--set") -> list[str]:
    """Each override that an event of the scenario sets again, in words: ``--set`` changes a value from
    the horizon's start (a ``path@DATE`` override from that date), and an event dated later replaces
    it from its date (a user who sets the baseline's Prime fee would otherwise see it return to the
    timeline's without a word). The events the overrides themselves add (``path@DATE``) are the
    user's own, never named. Events set only what may change during a run, so an override of
    anything else is never named."""
    own = {dated_label(*key.split(DATED, 1)) for key in overrides if DATED in key}
    theirs = [event for event in scenario.events if event.label not in own]
    said = []
    for key, value in overrides.items():
        dotted, _, date = key.partition(DATED)
        ours = next((event for event in scenario.events if date and event.label == dated_label(dotted, date)), None)
        after = ours.date if ours is not None else None
        found = events_setting(theirs, sorted(leaf_keys({dotted: value})), after)
        if found:
            event, hit = found[0]
            when = f"holds only until {event.date}" if event.date > (after or scenario.horizon.start) else "never holds"
            how = ("key it 'path@DATE' (an event after the scenario's own)" if option == "overrides" else
                   "give it as --set path@DATE=value (an event after the scenario's own)")
            said.append(f"{option} {key} {when}: an event of the scenario sets {hit} on {event.date}"
                        f"{f' ({event.label})' if event.label else ''}; to change it from a date, {how}")
    return said


MISSING = object()  # what a course reads where the scenario holds no such path (a year a series lacks, a null block)


def course(scenario: Scenario, dotted: str) -> list[tuple[Any, Any]]:
    """The value at ``dotted`` over the scenario's horizon, as (week, value) steps: from its start, then
    at each event that sets it (or a value within or around it), in the order the model applies them,
    each at the weekly step that applies it (the first on or after its date)."""
    def read(state):
        try:
            return get_path(state, dotted)
        except (KeyError, AttributeError, TypeError, IndexError):
            return MISSING

    start = scenario.horizon.start
    state = scenario.model_dump(mode="json", exclude={"events"})
    steps = [(start, read(state))]
    for event, _ in events_setting(scenario.events, [dotted]):
        for key, value in event.set.items():
            state = set_path(state, key, value)
        steps.append((start + dt.timedelta(weeks=-(-(event.date - start).days // 7)), read(state)))
    return steps


def same_course(first: list[tuple[Any, Any]], second: list[tuple[Any, Any]]) -> bool:
    """Whether two :func:`course` s hold the same value at every week."""
    def at(steps, date):
        return [value for when, value in steps if when <= date][-1]
    return all(at(first, date) == at(second, date) for date in sorted({when for when, _ in first + second}))


def made_alike(plain: list[Scenario], changed: list[Scenario], overrides: Mapping[str, Any]) -> list[str]:
    """Each override that leaves a what-if (``plain[1:]``, loaded without the overrides) no longer differing
    from the baseline (``plain[0]``) in the lever it sets, in words: ``--set`` changes every scenario alike,
    so over a what-if's own lever it takes the lever away (a fee cut from 2027 and --set fee@2027-01-01=79).
    Only the values events may set are levers (a description, the events themselves, are not)."""
    said = []
    for key in overrides:
        dotted = key.partition(DATED)[0]
        if check_path(type(plain[0]), dotted, years=True):
            continue
        baseline = (course(plain[0], dotted), course(changed[0], dotted))  # before and after, once for every what-if
        for before, after in zip(plain[1:], changed[1:]):
            if not same_course(baseline[0], course(before, dotted)) and same_course(baseline[1], course(after, dotted)):
                said.append(f"--set {key} sets {dotted} in the baseline and every what-if alike, over {after.name}'s "
                            f"own change of it: {after.name} no longer differs from {changed[0].name} in it; to change "
                            "one scenario, write the change in its file")
    return said


def blocks_given_whole(root: type[BaseModel], changes: Mapping[str, Any]) -> list[tuple[str, str, str, Any]]:
    """The changes that set a block whole (their other keys take their defaults, not the scenario's:
    ``memberships={taste_sd_usd: 50}`` dropped the calibrated Walmart+ liking): (key as given, the block's
    path, and the first key and value it names), for a warning or a refusal to say what to write instead."""
    return [(key, key.partition(DATED)[0], *next(iter(value.items()))) for key, value in changes.items()
            if isinstance(value, Mapping) and value and is_block(root, str(key).partition(DATED)[0])]


def blocks_set_whole(root: type[BaseModel], changes: Mapping[str, Any], option: str = "--set") -> list[str]:
    """Each change that sets a block whole (:func:`blocks_given_whole`), in words."""
    said = []
    for key, dotted, first, _ in blocks_given_whole(root, changes):
        how = f"--set {dotted}.{first}=..." if option == "--set" else f"'{dotted}.{first}'"
        said.append(f"{option} {key} sets the block {dotted} whole: the keys it does not name take their "
                    f"defaults, not the scenario's; to change one key, give it by its path ({how})")
    return said


def homes(root: type[BaseModel], key: str, depth: int = 4) -> list[str]:
    """The dotted paths of the blocks of ``root`` (at most ``depth`` deep) that hold a block named ``key``
    (a block's name says where it belongs; a value's, such as ``start`` or ``count``, is in many places)."""
    found, level = [], [("", root)]
    for _ in range(depth):
        deeper = []
        for prefix, model in level:
            for name, field in model.model_fields.items():
                inner = _model_in(field.annotation)
                if (field.alias or name) == key and prefix and inner is not None:
                    found.append(prefix.rstrip("."))
                if inner is not None and typing.get_origin(field.annotation) is not dict:
                    deeper.append((f"{prefix}{field.alias or name}.", inner))
        level = deeper
    return found


def explain(root: type[BaseModel], loc: tuple[Any, ...], kind: str) -> str | None:
    """A plainer message than pydantic's for a few mistakes, or None: a key of another block written
    here (``walmart_plus:`` at the top, for ``walmart.walmart_plus``), a value where a block belongs
    (named by its keys, not its class), and ``events:`` written as a mapping rather than a list."""
    if kind == "extra_forbidden" and (places := homes(root, str(loc[-1]))):
        where = " or ".join(f"{place}.{loc[-1]}" for place in places[:3])
        return f"unknown key '{loc[-1]}' here; it belongs in another block: {where}"
    if kind == "model_type":
        holder = model_at(root, loc)
        field = holder.model_fields.get(str(loc[-1])) if holder is not None else None
        model = _model_in(field.annotation) if field is not None else None
        if model is not None:
            keys = ", ".join(item.alias or name for name, item in model.model_fields.items())
            return f"should be a block of keys ({keys}), not a single value"
    if kind == "list_type" and loc == ("events",):
        return ("should be a list of events, one '- ' line each: - {date: 2026-01-01, set: "
                "{amazon.prime.fee_annual: 159}}")
    return None
