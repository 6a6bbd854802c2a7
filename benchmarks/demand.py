"""The demand side against its evidence: prints the figures docs/MODEL.md and docs/levers.md quote.

    python benchmarks/demand.py [--shoppers 5000] [--seeds 2] [--only members,elasticity,...]
    python benchmarks/demand.py --only selection --walmart-taste --set shoppers.walmart_online_taste_sd_usd=90

Each check runs the baseline (and, where it says so, a variant of it) on common seeds:

- ``members``: members' spend at their membership's firm over non-members', by year (CIRP: Prime
  $1,400 against $600 (2018), ~$1,200 against ~$600 (c. 2023); Walmart's claim for Walmart+ about
  three times, low confidence), and the share of that lift that is the loyalty lean (Iyengar, Park &
  Yu 2022: about two thirds).
- ``elasticity``: each firm's prices 1% higher from January 2026: the change of its volume (sales at
  reference prices) in the first month and over 2027-2030, as an elasticity; and every firm's prices
  10% higher: the market's volume by category (Andreyeva et al. 2010: food 0.27-0.81).
- ``saturation``: membership shares by year to 2040.
- ``drift``: headline shares (spend by firm, memberships) in the first and last quarter of the
  first recorded year (the settled-start goal: under half a point).
- ``fulfilment``: how Walmart's online orders split between pickup, delivery and express in 2025.
- ``selection``: who the members are, household by household, over Walmart's fiscal 2025 (Feb 2024 -
  Jan 2025): members' spend and shopping weeks at the firm over non-members', the firm's share of
  members' and others' own spend, its spread across households, and the share of households that
  used the firm at all (membership as held at the year's end; a week counts once whichever of the
  firm's channels it used); for the baseline and with a lasting liking for Walmart
  (``--walmart-taste 100 150``, dollars an order; the baseline's is 0). Walmart's claim for Walmart+:
  members shop about twice as often and spend nearly three times as much (low confidence); Walmart
  told CNBC its members made nearly half of its website and app spend (FY2025). Online, members'
  spend at the firm's online channels over non-members' and over non-members who ordered online
  there in the year (CIRP's Walmart.com customers: about $2,200 against $1,000, c. 2024). Then members' share
  of the firm's online spend, and what the membership is worth a year to a household at the year's
  end: its shopping gain (free delivery, the fuel saving, Prime's shipping), its perks less the fee,
  and the spread of households' own liking for it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.cli_args import parse_assignment  # noqa: E402
from sim.errors import ScenarioError  # noqa: E402
from sim.run import resolve  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.yaml"
FIRM_PRICES = {"amazon": "amazon.prices", "walmart": "walmart.prices", "kroger": "kroger.prices", "rivals": "rivals.prices"}


def yearly(result: sim.Result, metric: str, **dimensions: str) -> pd.Series:
    series = result.series(metric, **dimensions)
    return series.groupby(series.index.year).mean()


def until(end: str) -> dict:
    """Overrides that end the baseline at ``end``, dropping its later events."""
    events = [e.model_dump(mode="json") for e in sim.load_scenario(BASELINE).events if e.date.isoformat() <= end]
    return {"horizon.end": end, "events": events}


def runs(overrides: dict, seeds: list[int], shoppers: int) -> list[sim.Result]:
    scenario = resolve(BASELINE, {"population.shoppers": shoppers, **overrides})
    return [sim.run(scenario, seed=seed) for seed in seeds]


def members(seeds: list[int], shoppers: int) -> None:
    """Members' spend ratio, with and without the loyalty lean."""
    print("## members' spend at their firm over non-members' (mean over seeds)")
    with_lean = runs({}, seeds, shoppers)
    without = runs({"amazon.prime.loyalty_usd_per_order": 0.0,
                    "walmart.walmart_plus.loyalty_usd_per_order": 0.0}, seeds, shoppers)
    for firm in ("amazon", "walmart"):
        ratio = pd.concat([yearly(r, "member_spend_ratio", firm=firm) for r in with_lean], axis=1).mean(axis=1)
        plain = pd.concat([yearly(r, "member_spend_ratio", firm=firm) for r in without], axis=1).mean(axis=1)
        print(f"{firm}: " + ", ".join(f"{year} {value:.2f} (no lean {plain[year]:.2f})"
                                      for year, value in ratio.items() if year in (2021, 2023, 2025, 2030)))


def volume(result: sim.Result, firm: str, start: str, end: str) -> float:
    spend = result.series("revenue", firm=firm)
    return float(spend[start:end].mean())


def elasticity(seeds: list[int], shoppers: int) -> None:
    """Each firm's own-price elasticity of its volume; the market's by category."""
    print("## own-price elasticities (prices x1.01 from 2026-01-05)")
    short = {"horizon.end": "2030-12-30"}
    base = runs(short, seeds, shoppers)
    for firm, key in FIRM_PRICES.items():
        scenario = resolve(BASELINE, {"population.shoppers": shoppers, **short})
        prices = getattr(getattr(scenario, firm), "prices")
        raised = {f"{key}.{c}": round(getattr(prices, c) * 1.01, 6) for c in ("grocery", "discretionary", "health")}
        events = [e.model_dump(mode="json") for e in scenario.events] + [{"date": "2026-01-05", "set": raised}]
        up = runs({**short, "events": events}, seeds, shoppers)
        for label, (start, end) in {"first month": ("2026-01-05", "2026-02-01"),
                                    "2027-2030": ("2027-01-01", "2030-12-31")}.items():
            # Volume is revenue at reference prices: revenue / 1.01 after the rise.
            changes = [volume(u, firm, start, end) / 1.01 / volume(b, firm, start, end) - 1 for u, b in zip(up, base)]
            print(f"{firm:8s} {label:12s} elasticity {np.mean(changes) / 0.01:+.2f}")
    print("## market volume, every firm's prices x1.10")
    scenario = resolve(BASELINE, {"population.shoppers": shoppers, **short})
    raised = {}
    for firm, key in FIRM_PRICES.items():
        prices = getattr(scenario, firm).prices
        raised.update({f"{key}.{c}": round(getattr(prices, c) * 1.10, 6) for c in ("grocery", "discretionary", "health")})
    up = runs({**short, **raised}, seeds, shoppers)
    for category in ("grocery", "discretionary", "health"):
        changes = []
        for u, b in zip(up, base):
            total_u = sum(u.series("gmv", key="by_category", firm=f, category=category).mean() for f in FIRM_PRICES)
            total_b = sum(b.series("gmv", key="by_category", firm=f, category=category).mean() for f in FIRM_PRICES)
            changes.append(total_u / 1.10 / total_b - 1)
        print(f"{category:14s} volume {np.mean(changes):+.1%} (elasticity {np.mean(changes) / 0.10:+.2f})")


def saturation(seeds: list[int], shoppers: int) -> None:
    print("## membership shares to 2040")
    results = runs({"horizon.end": "2040-12-31"}, seeds, shoppers)
    table = pd.DataFrame({
        "prime": pd.concat([yearly(r, "prime_share") for r in results], axis=1).mean(axis=1),
        "walmart_plus": pd.concat([yearly(r, "walmart_plus_share") for r in results], axis=1).mean(axis=1),
        "both": pd.concat([yearly(r, "membership_share", segment="both") for r in results], axis=1).mean(axis=1),
    })
    print(table.round(3).to_string())


def drift(seeds: list[int], shoppers: int) -> None:
    print("## first recorded year: largest change of a headline share, first quarter to last (points)")
    results = runs(until("2021-12-27"), seeds, shoppers)
    rows = []
    for name, selector in [(f"spend {firm}", ("spend_share", {"firm": firm})) for firm in FIRM_PRICES] + [
            ("prime", ("prime_share", {})), ("walmart_plus", ("walmart_plus_share", {})),
            ("both", ("membership_share", {"segment": "both"}))]:
        metric, dimensions = selector
        moves = [r.series(metric, **dimensions)[:"2021-12-31"] for r in results]
        change = np.mean([100 * (s.iloc[-13:].mean() - s.iloc[:13].mean()) for s in moves])
        rows.append((name, change))
    for name, change in rows:
        print(f"{name:14s} {change:+.2f}")


def fulfilment(seeds: list[int], shoppers: int) -> None:
    """Walmart online orders by way of fulfilment, in expectation over this week's households."""
    from sim.firms.walmart import Walmart
    from sim.model.market import RetailMarket
    from sim.vocabulary import WALMART_ONLINE

    print("## Walmart online orders by fulfilment, 2025-06 (expected shares)")
    scenario = resolve(BASELINE, {"population.shoppers": shoppers, **until("2025-06-30")})
    model = RetailMarket(scenario, seed=seeds[0])
    model.run_model()
    walmart = next(firm for firm in model.firms if isinstance(firm, Walmart))
    h, costs = model.households, model.household_costs()
    options = walmart.online_options(model.access.firms["walmart"], costs, h.walmart_plus)
    scale = model.params.shoppers.fulfilment_taste_usd
    weights = np.exp(-(options - options.min(axis=0)) / scale)
    weights /= weights.sum(axis=0)
    chose = model.choice == WALMART_ONLINE
    shares = (weights * chose).sum(axis=(1, 2)) / chose.sum()
    print("pickup {:.0%}, delivery {:.0%}, express {:.0%} of {} Walmart online orders".format(*shares, int(chose.sum())))


def lift(seeds: list[int], shoppers: int) -> None:
    """The causal lift of each membership on its members' buying at its firm, split as Iyengar, Park
    & Yu (2022) split it: the economic part (its fees, waits and trips) and the loyalty lean."""
    from sim.model.choice import logit
    from sim.model.market import RetailMarket

    print("## causal lift of a membership on its members' spend at the firm, 2025-06")
    scenario = resolve(BASELINE, {"population.shoppers": shoppers, **until("2025-06-30")})
    model = RetailMarket(scenario, seed=seeds[0])
    model.run_model()
    h = model.households
    for firm in model.membership_firms:
        name, held = firm.membership, getattr(h, firm.membership)
        terms = firm.membership_terms

        def spend(member: np.ndarray, loyalty: float) -> float:
            original = terms.loyalty_usd_per_order
            object.__setattr__(terms, "loyalty_usd_per_order", loyalty)
            try:
                probability = logit(model._utilities(**{name: member}))[0]
            finally:
                object.__setattr__(terms, "loyalty_usd_per_order", original)
            at_firm = probability[list(firm.channels)].sum(axis=0) * h.budget
            return float(at_firm[:, held].sum())

        loyalty = terms.loyalty_usd_per_order
        without, economic, full = spend(np.zeros_like(held), 0.0), spend(held, 0.0), spend(held, loyalty)
        print(f"{name}: members buy {full / without - 1:+.0%} at {firm.name} than they would without it: "
              f"economic {economic / without - 1:+.0%}, loyalty {full / economic - 1:+.0%} "
              f"(loyalty's share of the lift {(full - economic) / max(full - without, 1e-9):.0%})")


def selection(seeds: list[int], shoppers: int, walmart_tastes: tuple[float, ...] = (100.0,),
              changes: dict | None = None) -> None:
    """Members against non-members, household by household, over Walmart's fiscal 2025, without a
    lasting liking for Walmart and with each spread of ``walmart_tastes`` (dollars an order), with
    the scenario ``changes`` (dotted paths) on every run."""
    from sim.model.market import RetailMarket
    from sim.model.memberships import perks_less_fee
    from sim.vocabulary import CHANNELS, ONLINE_CHANNELS

    print("## who the members are: Walmart's fiscal 2025 (Feb 2024 - Jan 2025), per household")
    start, end = dt.date(2024, 2, 1), dt.date(2025, 1, 31)
    for taste in (0.0, *walmart_tastes):
        scenario = resolve(BASELINE, {"population.shoppers": shoppers, "shoppers.firm_taste_sd_usd.walmart": taste,
                                      **until(end.isoformat()), **(changes or {})})
        model = RetailMarket(scenario, seed=seeds[0])
        channels_of = {firm.name: list(firm.channels) for firm in model.membership_firms}
        spend = np.zeros((len(CHANNELS), shoppers))
        weeks = {name: np.zeros(shoppers) for name in channels_of}  # weeks with any order at the firm

        def tally(m: RetailMarket) -> None:
            if start <= m.date <= end:
                for channel in range(len(CHANNELS)):
                    spend[channel] += ((m.choice == channel) * m.spend).sum(axis=0)
                for name, channels in channels_of.items():
                    weeks[name] += np.isin(m.choice, channels).any(axis=0)

        model.run_model(tally)
        model.value_memberships()  # each membership's worth to each household at the year's end
        h, total = model.households, spend.sum(axis=0)
        print(f"Walmart liking spread ${taste:.0f} an order:")
        for firm in model.membership_firms:
            held, channels = getattr(h, firm.membership), list(firm.channels)  # held: at the year's end
            at_firm, shopped = spend[channels].sum(axis=0), weeks[firm.name]
            share = at_firm / total
            p10, p50, p90 = np.percentile(share, [10, 50, 90])
            print(f"  {firm.membership} ({held.mean():.0%} of households at the year's end): spend at {firm.name} "
                  f"{at_firm[held].mean() / at_firm[~held].mean():.2f}x non-members', weeks shopped there "
                  f"{shopped[held].mean() / shopped[~held].mean():.2f}x ({shopped[held].mean():.1f} vs "
                  f"{shopped[~held].mean():.1f}); {firm.name}'s share of own spend: members "
                  f"{share[held].mean():.1%}, others {share[~held].mean():.1%}, all households p10/50/90 "
                  f"{p10:.0%}/{p50:.0%}/{p90:.0%}; households that used {firm.name} {(at_firm > 0).mean():.0%}")
            online = spend[list(np.intersect1d(channels, ONLINE_CHANNELS))].sum(axis=0)
            buyers = ~held & (online > 0)  # non-members who ordered online at the firm in the year
            print(f"    online at {firm.name}: members spend {online[held].mean() / online[~held].mean():.2f}x "
                  f"non-members', {online[held].mean() / online[buyers].mean():.2f}x non-members who ordered "
                  f"online there ({buyers.sum() / (~held).sum():.0%} of non-members)")
            others = perks_less_fee(firm, h, model.params)
            shopping = model.membership_value[firm.membership] - others
            print(f"    members' share of {firm.name}'s online spend {online[held].sum() / online.sum():.0%}; a year's "
                  f"worth of {firm.membership} to a household, p10/50/90: shopping ${' / $'.join(dollars(shopping))}, "
                  f"perks less fee ${' / $'.join(dollars(others))}, own liking (sd) "
                  f"${getattr(h, firm.membership + '_taste').std():.0f}")


def dollars(values: np.ndarray) -> list[str]:
    return [f"{v:.0f}".replace("-", "\u2212") for v in np.percentile(values, [10, 50, 90])]


CHECKS = {"members": members, "lift": lift, "elasticity": elasticity, "saturation": saturation, "drift": drift,
          "fulfilment": fulfilment, "selection": selection}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only", default=",".join(CHECKS), help="comma-separated: " + ", ".join(CHECKS))
    parser.add_argument("--walmart-taste", type=float, nargs="*", default=[100.0],
                        help="selection: spreads of a lasting liking for Walmart to try beside 0, dollars an order")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="selection: a scenario change on every run, e.g. shoppers.walmart_online_taste_sd_usd=90")
    args = parser.parse_args()
    try:
        changes = dict(parse_assignment(item) for item in args.set)
    except ScenarioError as error:
        parser.error(str(error))
    if "population.shoppers" in changes:
        parser.error("--set population.shoppers: use --shoppers")
    checks = CHECKS | {"selection": functools.partial(selection, walmart_tastes=tuple(args.walmart_taste),
                                                      changes=changes)}
    seeds = list(range(1, args.seeds + 1))
    started = dt.datetime.now()
    for name in args.only.split(","):
        checks[name](seeds, args.shoppers)
    print(f"({args.shoppers} households, seeds {seeds}, {(dt.datetime.now() - started).total_seconds():.0f} s)")


if __name__ == "__main__":
    main()
