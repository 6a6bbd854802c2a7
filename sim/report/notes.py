"""Read-with-care notes: what a reader must know so that a figure does not mislead.

A lever whose effect a cap or an end date cuts off says so here, as do levels the model does not
yet calibrate and published figures it was not given and misses (the shipped
``calibration/checks.yaml``, measured in the first scenario's runs). Each note is one sentence of
plain HTML, shown under the headline table.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from ..vocabulary import FIRMS, MONEY_METRICS
from .ensemble import Ensemble
from .rivals import fee_reviewers
from .style import FIRM_NAMES
from .unlike import other_calibration, other_households

PROFITS = ("Profit is fitted to the filings' operating margins (Amazon North America 2021-2025, Walmart U.S. "
           "FY2022-FY2026, Kroger FY2023-FY2024, four other grocers 2024) through one unit cost per firm, every "
           "other cost from the filings (docs/accounts.md). Money is in constant 2024 dollars (CPI-U): membership "
           "fees are posted in nominal dollars and weighed and booked at their 2024 value. Revenue grows in real "
           "terms as US households grow (5.1% from 2021 to 2025, ACS; population.households), as online gains on "
           "stores (at the pace of Census's e-commerce share, 2021-2024) and as advertising's share rises; a "
           "household's real spending does not grow, except grocery, which follows USDA ERS's real food-at-home "
           "spending per household (2021 a pandemic high, about 7% above 2024; shoppers.food_at_home_real). "
           "Amazon's revenue grows less than filed (the checks below "
           "give the figures). Its 2022 margin falls to about +1% (Amazon North America filed a loss, -0.9%; within "
           "the target's 2 points, not a loss) through an input, the excess capacity Amazon reported "
           "(docs/accounts.md 6.3), not by a mechanism. Households choose on the Consumer Expenditure Survey's "
           "budgets, which record about three quarters of national grocery spending and two fifths of general "
           "merchandise (the CE names fewer goods than the national accounts count); the firms' books count "
           "those purchases at national size (shoppers.budget_coverage), and "
           "the 2024 revenues of Amazon North America, Walmart U.S. and Kroger without fuel are fitted targets "
           "(within 5-8%). Levels of other years follow from the model's growth, not from the filings.")


# Draws that each meet this share of the targets are read as a posterior around the point; fewer, as
# worlds that miss published figures (the bank's posterior: 6 to 11 of 26).
CLOSE_DRAWS = 0.6
FITTED_THROUGH = dt.date(2025, 1, 1)  # the online gain's pace is fitted to 2021-2024 (docs/MODEL.md, 7.1)


def notes(ensemble: Ensemble) -> list[str]:
    """The notes for these runs; a note that holds for several scenarios names them together."""
    found: dict[str, list[str]] = {}
    end = ensemble.end_date.date()
    for name, scenario in zip(ensemble.names, ensemble.scenarios):
        beyond = ensemble.wide("amazon_rural_stations_beyond_cap", firm="amazon")[name].mean(axis=1)
        if (beyond > 0.5).any():
            since = beyond[beyond > 0.5].index[0].date()
            found.setdefault(
                f"from {since}, up to {beyond.max():,.0f} of Amazon's rural stations are beyond those that take "
                f"every county's rural same-day to its cap of {scenario.amazon.rural.max_rural_coverage:.0%}: their capital is "
                "spent but they reach no new household and serve no new town.", []).append(name)
        rural = scenario.amazon.rural
        if rural.end < end and rural.investment_per_year_usd > 0:
            found.setdefault(f"Amazon's rural programme stops investing on {rural.end}; rural reach stays where the "
                             "stations built by then take it.", []).append(name)
        if scenario.conduct == "strategic":
            found.setdefault(strategic_note(ensemble, name, scenario), []).append(name)
        gain = scenario.shoppers.online_gain
        if gain.per_year and (gain.end is None or gain.end > FITTED_THROUGH) and end > FITTED_THROUGH:
            paces = {run.scenario.shoppers.online_gain.per_year for run in ensemble.results if run.scenario.name == name}
            found.setdefault(online_gain_note(gain, sorted(paces)), []).append(name)  # paces: one a parameter draw
        dark = ensemble.wide("walmart_dark_store_reach", firm="walmart")[name].mean(axis=1)
        if (dark >= 1.0).any():
            since = dark[dark >= 1.0].index[0].date()
            found.setdefault(f"from {since} Walmart's dark stores reach every urban and suburban household they "
                             "can; more dark stores add no reach, only capacity (each fulfils up to "
                             "walmart.dark_stores.orders_per_week orders).", []).append(name)
    for name, scenario in list(zip(ensemble.names, ensemble.scenarios))[1:]:
        for text in (other_calibration(scenario, ensemble.scenarios[0]), other_households(scenario, ensemble.scenarios[0])):
            if text:
                found.setdefault(text, []).append(name)
    routing = routing_agents(ensemble)
    if routing:
        found[ROUTING] = routing
    changed = walmart_plus_fee_changed(ensemble)
    if changed:
        found[members_chosen_note(ensemble)] = changed
    cut = walmart_plus_fee_changed(ensemble, lower=True)
    if cut:
        found[RECORDED_MISSES["walmart_plus_fee_cut"]] = cut
    missed = checks_missed(ensemble) + draws_against_targets(ensemble)
    return [PROFITS] + [f"{html.escape(', '.join(names))}: {text}" for text, names in found.items()] + missed


def in_words(firm: str) -> str:
    """A firm's name inside a sentence ("the other grocers" rather than the tables' "Other grocers")."""
    return FIRM_NAMES[firm] if firm != "rivals" else "the other grocers"


def strategic_note(ensemble: Ensemble, name: str, scenario) -> str:
    """What strategic prices are, and which strategic firms end in an operating loss (their last 52
    weeks, or the whole horizon if shorter)."""
    strategy = scenario.strategy
    names = [in_words(firm) for firm in strategy.firms]
    text = (f"prices are strategic: every {strategy.review_weeks} weeks "
            f"{', '.join(names[:-1]) + ' and ' if len(names) > 1 else ''}{names[-1]} set their "
            f"{' and '.join(strategy.categories)} prices as best responses to their rivals', valuing a dollar of "
            "goods sold at what makes the start's prices an equilibrium (docs/MODEL.md, 7.7b); \"Prices and fees\" "
            "shows each firm's answer (price_index in the results), and profits move with it.")
    if "rivals" in strategy.firms:
        text += (f" The other grocers (Costco, Albertsons, Publix, Aldi and hundreds more) price as "
                 f"{scenario.rivals.independent_firms:g} equal independent firms, each for its own sales "
                 "(rivals.independent_firms, fitted to grocers' price answer to a Walmart entry); a merger among "
                 "them is an event that lowers the count, as a count set from the start is absorbed into the "
                 "value of a customer.")
    regulars = scenario.shoppers.walmart_online_regular_growth
    if "walmart" in strategy.firms and regulars.per_year > 0:
        text += (" Walmart's prices rise as its class of online regulars grows (shoppers.walmart_online_regular_growth, "
                 "fitted to 2021-2025 and extrapolated after): they order from it whatever its price, and its value "
                 "of a customer was set when they were fewer (docs/MODEL.md, 7.7b).")
    choosers = [FIRM_NAMES[firm] for firm in fee_reviewers([scenario])]
    if choosers:
        text += (f" From {strategy.fees_from} {' and '.join(choosers)} also choose their membership fees once a year "
                 "(a fee a scenario's event sets from then on stays as set), valuing a member at what makes the fee "
                 "posted before then the best in the long run (docs/MODEL.md, 7.7c); the prime_fee_usd and "
                 "walmart_plus_fee_usd metrics of the results record the fees posted.")
    if strategy.budgets and "amazon" in strategy.firms and strategy.budgets_from <= scenario.horizon.end:
        text += (f" From {strategy.budgets_from} Amazon also chooses its rural station budget once a year, from "
                 "multiples of the scenario's, by what the stations' reach is worth against their capital (memberships "
                 "it would bring counted in the long run; docs/strategy.md); amazon_rural_budget_usd records it.")
    losing = [in_words(firm) for firm in FIRMS if firm in strategy.firms
              and ensemble.wide("operating_profit", firm=firm)[name].mean(axis=1).iloc[-52:].sum() < 0]
    if losing:
        agents = scenario.walmart.agentic.adoption
        text += (f" An operating loss over its last 52 weeks (or the whole horizon, if shorter): {', '.join(losing)}. "
                 "Under strategic prices a loss can persist: no firm can close stores or leave, each holds the "
                 "value of a customer it measured at the start, and rivals' cuts answer each other"
                 + ("; AI shopping agents also make online demand more price-elastic from "
                    f"{agents.start:%Y}" if agents.target > 0 and agents.start < ensemble.end_date.date() else "")
                 + ". Read these profits as a what-if under those assumptions, not a forecast.")
    return text


ROUTING = ("AI shopping agents send a share of their online orders to Walmart whatever the offers "
           "(walmart.agentic.partner_order_share, a what-if, docs/levers.md). Consumer surplus counts a routed "
           "order at the household's own value of Walmart online, which for a household outside Walmart's online "
           "regulars holds the channel's fitted constant, a large dislike from a two-type picture of who orders "
           "there (docs/levers.md gives its size): the surplus routing costs is likely overstated.")


def routing_agents(ensemble: Ensemble) -> list[str]:
    """The scenarios whose AI agents route orders to Walmart within the horizon, when the scenarios'
    agents differ (their difference then holds routing, and the ROUTING note says what its surplus
    counts); none otherwise."""
    end = ensemble.end_date.date()
    agents = {name: scenario.walmart.agentic for name, scenario in zip(ensemble.names, ensemble.scenarios)}
    if len({(a.adoption, a.partner_order_share) for a in agents.values()}) < 2:
        return []
    return [name for name, a in agents.items()
            if a.partner_order_share > 0 and a.adoption.target > 0 and a.adoption.start < end]


def walmart_plus_fee_changed(ensemble: Ensemble, lower: bool = False) -> list[str]:
    """The scenarios whose Walmart+ fee differs from the first scenario's in some week (a fee what-if);
    ``lower``: is below it in some week (a cut)."""
    fee = ensemble.wide("walmart_plus_fee_usd", firm="walmart")
    if fee.empty:
        return []
    base = fee[ensemble.baseline].mean(axis=1)
    return [name for name in ensemble.names[1:]
            if ((base - fee[name].mean(axis=1)) if lower else (fee[name].mean(axis=1) - base).abs()).max() > 0.005]


# What the report says where a what-if moves a lever whose answer the lever catalogue records outside the
# band the evidence supports (docs/levers.md, "Bands the model misses"; tests/test_lever_catalogue.py keeps
# the two lists alike).
RECORDED_MISSES = {
    "walmart_plus_fee_cut": "Walmart+'s fee is cut here. The lever catalogue records that the model's answer to "
    "halving it (to $49 from 2026) lies above the band the evidence supports, in Walmart+ households and in "
    "households holding both memberships (docs/levers.md, \"Bands the model misses\"): read the members a cut wins "
    "here as the upper end of what is plausible.",
}


def members_chosen_note(ensemble: Ensemble) -> str:
    """Who Walmart+ draws in the model: the own-liking spread, the members' spend ratio (read as its
    check reads it when the runs cover the check's year, else the weekly mean) and, when the first
    scenario's runs book more Walmart+ fees than Walmart U.S.'s filing allows, what that does to a fee
    change's answer."""
    runs = baseline_runs(ensemble)
    prime = _dollars_a_year([run.scenario.memberships.spreads_usd()[0] for run in runs])
    spread = _dollars_a_year([run.scenario.memberships.spreads_usd()[1] for run in runs])
    checks = {check.id: check for check in _shipped_checks(runs)}
    ratio_check = checks.get("walmart_plus_member_spend_ratio")
    claim = "a check these runs do not reach"
    if ratio_check is not None:
        ratio, when = _mean_value(ratio_check, runs), "fiscal 2025"
        claim = "met" if ratio_check.within(ratio) else "not met"
    else:
        weekly = ensemble.wide("member_spend_ratio", firm="walmart")[ensemble.baseline]
        ratio = weekly.mean().mean() if not weekly.empty else float("nan")  # over the weeks, then the seeds
        when = f"the weekly mean, {weekly.index[0]:%Y}-{weekly.index[-1]:%Y}" if not weekly.empty else ""
    measured = (f"in {html.escape(ensemble.baseline)} its member households spend {ratio:.2f} times what other "
                f"households spend at Walmart ({when})" if ratio == ratio else
                f"{html.escape(ensemble.baseline)}'s runs do not measure what its members spend")
    text = ("Walmart+'s fee changes here. In the model households join Walmart+ for what its free delivery is worth "
            f"to their Walmart shopping and for their own liking of it (spread {spread}, against Prime's "
            f"{prime}): {measured}, where Numerator's receipt panel gives about 1.55 times (the year to June "
            "2022, derived; a calibration target) and Walmart says nearly 3 times non-subscribing customers "
            f"({claim}). That spread rests on the one derived figure, and no published figure says how membership "
            "answers its fee: with many households near the fee, who joins or leaves after the change is the least "
            "tested part of this answer (docs/levers.md).")
    fees = checks.get("walmart_plus_fee_income_fy2025")
    if fees is not None and fees.below is not None:
        booked = _mean_value(fees, runs)
        if booked == booked and fees.miss(booked) > 1.0:
            text += (f" The model books {_billions(booked)} of Walmart+ fees in fiscal 2025, above the "
                     f"{_billions(fees.below)} of membership and other income that Walmart U.S. files (it counts the "
                     "posted fee for every member household, and these runs hold more than the member counts): a fee "
                     "change moves too much fee income, which pulls its profit change toward the fee's side (too low "
                     "for a cut, too high for a rise).")
    return text


def _dollars_a_year(values) -> str:
    """One value a year, or its range over the parameter draws (one value a draw)."""
    values = sorted(set(values))
    return (f"${values[0]:,.0f} a year" if len(values) == 1 else
            f"${values[0]:,.0f} to ${values[-1]:,.0f} a year over the parameter draws")


def _shipped_checks(runs: list) -> list:
    """The shipped checks whose dates the runs cover."""
    from ..jobs.targets import load_targets
    from ..shipped import CALIBRATION, folder

    return inside(load_targets(folder(CALIBRATION) / "checks.yaml"), runs)


def _mean_value(target, runs: list) -> float:
    """A target's or check's value averaged over runs; NaN when the runs do not record what it reads."""
    from ..jobs.outcomes import MissingSeries

    try:
        return sum(target.simulate(run) for run in runs) / len(runs)
    except MissingSeries:
        return float("nan")


def online_gain_note(gain, paces: list[float] | None = None) -> str:
    """What a reader must know of online's yearly gain on stores when it runs past the years it is fitted to;
    ``paces``: the yearly gains of the runs, when parameter draws give them several."""
    moves = "gains on" if gain.per_year > 0 else "loses ground to"
    if paces and len(paces) > 1:
        low, high = sorted(abs(pace) for pace in (paces[0], paces[-1]))
        pace = f"online {moves} stores {low:.1%} to {high:.1%} of the basket a year over the parameter draws"
    else:
        pace = f"online {moves} stores {abs(gain.per_year):.1%} of the basket a year"
    if gain.end is not None:
        return (f"{pace} until {gain.end} (shoppers.online_gain; the baseline's pace is fitted to 2021-2024): "
                "its course after 2024 is an assumption.")
    return (f"{pace} to the end of the horizon (shoppers.online_gain; the baseline's pace is fitted to 2021-2024): "
            "after 2024 that is an assumption, and it carries much of online's and Amazon's growth and of the "
            "consumer surplus's rise (the online_growth_stalls lever, docs/levers.md, stops it in 2026).")


CONFIDENCE = {"H": "high", "M": "medium", "L": "low"}


def checks_missed(ensemble: Ensemble, checks: Path | None = None) -> list[str]:
    """One note listing the published figures the calibration was not given that the first
    scenario's runs miss beyond their tolerance, one line each with the runs' value, the published
    one, its tolerance and its source's confidence; none when all are met, none can be measured
    (NaN) or none falls inside those runs' dates. ``checks``: a checks file (default: the shipped one)."""
    from ..jobs.outcomes import MissingSeries
    from ..jobs.targets import load_targets
    from ..shipped import CALIBRATION, folder

    name = ensemble.baseline
    runs = baseline_runs(ensemble)
    items = []
    for check in inside(load_targets(checks or folder(CALIBRATION) / "checks.yaml"), runs):
        try:
            value = sum(check.simulate(result) for result in runs) / len(runs)
        except MissingSeries as unread:  # results written before a series the check reads (price_level)
            items.append(f"<li>{html.escape(check.label or check.id)}: not read: {html.escape(str(unread))}</li>")
            continue
        if not abs(check.miss(value)) > 1.0:  # within tolerance, or not measurable in these runs (NaN)
            continue
        items.append(f"<li>{html.escape(check.label or check.id)}: {_shown(check, value)}</li>")
    if not items:
        return []
    return [f"{html.escape(name)}: its runs miss published figures that the calibration was not fitted to "
            f"(docs/calibration.md, \"Published figures the fit was not given\", reads each):<ul>{''.join(items)}</ul>"]


def baseline_runs(ensemble: Ensemble) -> list:
    """The first scenario's runs (over every draw, when there are parameter draws)."""
    return [result for result in ensemble.results if result.scenario.name == ensemble.baseline]


def inside(targets: list, runs: list) -> list:
    """The targets (or checks) whose dates fall inside the runs' recorded weeks."""
    first = min(result.timeseries["date"].min() for result in runs).date()
    last = max(result.timeseries["date"].max() for result in runs).date()
    # The first recorded week may begin a few days after a target's first day.
    return [target for target in targets if target.start >= first - dt.timedelta(days=7) and target.end <= last]


def draws_against_targets(ensemble: Ensemble, targets: Path | None = None) -> list[str]:
    """With parameter draws, one note saying how many calibration targets each draw's baseline runs
    meet (their mean over the draw's seeds within tolerance), and the two targets most draws miss,
    with the draws' range; none without draws or without a target inside the runs' dates.
    ``targets``: a targets file (default: the shipped one)."""
    from ..jobs.targets import load_targets
    from ..shipped import CALIBRATION, folder
    from .ensemble import _draw

    if not ensemble.draws:
        return []
    runs_of_baseline = baseline_runs(ensemble)
    by_draw: dict[int, list] = {}
    for result in runs_of_baseline:
        by_draw.setdefault(_draw(result), []).append(result)
    read = []  # (target, its value in each draw)
    for target in inside(load_targets(targets or folder(CALIBRATION) / "targets.yaml"), runs_of_baseline):
        values = [_mean_value(target, runs) for runs in by_draw.values()]
        # NaN in a draw: not measurable there, or a series the results were written without
        if not any(value != value for value in values):
            read.append((target, values, sum(abs(target.miss(value)) > 1.0 for value in values)))
    if not read:
        return []
    met = [sum(target.within(values[i]) for target, values, _ in read) for i in range(len(by_draw))]
    worst = [item for item in sorted(read, key=lambda item: -item[2]) if item[2]][:2]
    count = len(by_draw)
    most = "".join(f"<li>{html.escape(_name(target))}: {_range(target, values)}, missed by {missed} of {count} "
                   f"draw{'s' * (count > 1)}</li>" for target, values, missed in worst)
    meets = f"{min(met)}" if min(met) == max(met) else f"{min(met)} to {max(met)}"
    reading = ("The draws are particles of a posterior around the calibrated point: a draw may miss a few "
               "targets by more than their tolerance, as a posterior that reads a tolerance as about one standard "
               "deviation does; the parameter bands show what the calibration leaves open near the point"
               if min(met) >= CLOSE_DRAWS * len(read) else
               "The draws are particles of an approximate posterior whose simulations meet the targets less closely "
               "than the point: the parameter bands are not an interval around the calibrated answer, and they hold "
               "worlds that miss published figures")
    return [f"{html.escape(ensemble.baseline)} over {count} parameter draw{'s' * (count > 1)}: "
            f"{'each draw' if count > 1 else 'the draw'}'s runs meet {meets} of the {len(read)} calibration targets "
            "they cover (calibration/targets.yaml; the calibrated point meets every one on fresh seeds, "
            f"docs/calibration.md). {reading}" + (f"; most often missed:<ul>{most}</ul>" if most else ".")]


def _name(target) -> str:
    """A target's label, else its description's first clause (most targets have no label)."""
    return target.label or target.description.split(". ")[0].strip().rstrip(".")[:100] or target.id


def _number(check):
    """How a target's values read (a share in %, money in $bn, else three figures), and its tolerance."""
    share = check.share_of is not None or check.growth_from is not None or check.metric.metric.endswith("share")
    if share:
        return (lambda x: f"{x:.1%}"), f"{check.tolerance * 100:.3g} pts"
    number = _billions if check.metric.metric in MONEY_METRICS else (lambda x: f"{x:.3g}")
    return number, number(check.tolerance)


def _billions(dollars: float) -> str:
    """Dollars in billions: whole billions from $100bn, else three figures ($2.6bn, $90bn)."""
    return f"${dollars / 1e9:,.0f}bn" if abs(dollars) >= 1e11 else f"${dollars / 1e9:.3g}bn"


def _range(target, values: list[float]) -> str:
    """The draws' lowest and highest values against the published one."""
    number, tolerance = _number(target)
    closest = min(values, key=lambda value: abs(target.miss(value)))
    return (f"{number(min(values))} to {number(max(values))} over draws (the closest {number(closest)}), published "
            f"{_bound(target)}{number(target.published)} (tolerance \u00b1{tolerance})")


def _bound(check) -> str:
    return "at least " if check.above is not None else "at most " if check.below is not None else ""


def _shown(check, value: float) -> str:
    """The runs' value against the published one, with its tolerance and the source's confidence."""
    number, tolerance = _number(check)
    return (f"model {number(value)}, published {_bound(check)}{number(check.published)} (tolerance \u00b1{tolerance}; "
            f"{CONFIDENCE[check.confidence]} confidence)")


def notes_html(ensemble: Ensemble) -> str:
    items = "".join(f"<li>{note}</li>" for note in notes(ensemble))
    return f'<ul class="notes" id="notes"><strong>Read with care</strong>{items}</ul>'
