"""The answer in words: a comparison's first line says what moved, largest first, in points and dollars."""

from __future__ import annotations

import math

from sim.report.tables import DIFFERENCES, _kind, answers_of


def row(measure: str, unit: str, mean: float, low: float = math.nan, high: float = math.nan,
        scenario: str = "cut") -> dict:
    return {"measure": measure, "unit": unit, "scenario": scenario, "mean": mean, "low": low, "high": high}


def test_the_largest_differences_come_first_in_points_and_dollars() -> None:
    rows = [
        row("Walmart share of spend", "%", 0.02, -0.01, 0.05),  # its interval holds zero: unchanged
        row("Amazon share of spend", "%", -0.01, -0.03, 0.01),
        row("Walmart+ households", "%", 5.84, 5.1, 6.5),
        row("Walmart operating profit", "$bn, last 52 weeks", -2.2, -2.6, -1.9),
        row("Consumer surplus", "$ per household per week", 0.06, 0.04, 0.08),
        row("Both", "% of households", 3.7, 3.2, 4.1),
    ]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "by 2030")
    assert sentence == ("cut against baseline, by 2030: Walmart+ households +5.8 pts; Both +3.7 pts; "
                        "Walmart operating profit -$2.2bn a year; consumer surplus +$0.06 per household per week; "
                        "firms' spend shares unchanged.")


def test_one_kind_of_difference_cannot_crowd_out_another() -> None:
    """The Walmart+ fee cut's rows (3,000 households, 3 seeds, 2 Dec 2026): four membership rows
    outrank the profit by size, two of them adding up to a third; the profit still gets a place."""
    rows = [
        row("Walmart+ households", "%", 7.96, 7.5, 8.4), row("Both", "% of households", 5.17, 4.8, 5.5),
        row("Prime only", "% of households", -5.18, -5.5, -4.9), row("Walmart+ only", "% of households", 2.79, 2.5, 3.1),
        row("Walmart operating profit", "$bn, last 52 weeks", -1.75, -2.07, -1.43),
        row("Walmart share of spend", "%", 0.01, -0.02, 0.04),
    ]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "by 2030")
    assert sentence == ("cut against baseline, by 2030: Walmart+ households +8.0 pts; Prime only -5.2 pts; "
                        "Both +5.2 pts; Walmart operating profit -$1.8bn a year; firms' spend shares unchanged.")


def test_consumer_surplus_does_not_crowd_out_the_firms_profit() -> None:
    """The Walmart+ fee cut's rows at the end of 2030 (3,000 households, 2 seeds, 4 Dec 2026): the
    surplus outranks the profits by size, and Walmart's profit, what the lever's question asks, is
    within run noise: it is said with its noise. Kroger's -$0.04bn, under its notable $0.1bn a year,
    has no place of its own: it competes by rank, and the share and the memberships outrank it."""
    rows = [
        row("Walmart+ households", "%", 5.04, 3.11, 6.97), row("Prime only", "% of households", -3.92, -5.35, -2.48),
        row("Consumer surplus", "$ per household per week", 0.12, 0.11, 0.12),
        row("Walmart share of spend", "%", 0.05, 0.03, 0.07),
        row("Walmart operating profit", "$bn, last 52 weeks", -0.10, -0.37, 0.17),
        row("Kroger operating profit", "$bn, last 52 weeks", -0.04, -0.05, -0.02),
    ]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "by 2030")
    assert sentence == ("cut against baseline, by 2030: Walmart+ households +5.0 pts; Prime only -3.9 pts; consumer "
                        "surplus +$0.12 per household per week; Walmart share of spend +0.050 pts; "
                        "Walmart operating profit -$0.10bn a year (within run noise).")


def test_a_share_under_its_notable_size_does_not_take_the_lever_firms_profits_place() -> None:
    """The Walmart+ fee cut to $49 from 2027 with Amazon's rural budget doubled, over 2026-2030 (3
    seeds): a -0.073-point share, under its notable 0.1 points, took a kind's place ahead of Walmart's
    -$2.9bn, and mirrored membership rows outrank that profit by size; the profit is said, and the
    shares that moved are said to move by under 0.1 points."""
    shares, members, total = "%, mean 2026-2030", "% of households, mean 2026-2030", "$bn, 2026-2030 total"
    rows = [
        row("Walmart+ households", shares, 10.8, 10.3, 11.3), row("Both", members, 7.9, 7.6, 8.2),
        row("Prime only", members, -7.9, -8.2, -7.6), row("Walmart+ only", members, 2.9, 2.3, 3.5),
        row("Consumer surplus", "$ per household per week, mean 2026-2030", 0.37, 0.34, 0.40),
        row("Amazon operating profit", total, -3.4, -3.6, -3.2),
        row("Walmart operating profit", total, -2.88, -3.05, -2.72),
        row("Kroger operating profit", total, -0.11, -0.47, 0.25),
        row("Other grocers share of spend", shares, -0.073, -0.09, -0.055),
        row("Walmart share of spend", shares, 0.048, 0.041, 0.055),
    ]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "over 2026-2030")
    assert sentence == ("cut against baseline, over 2026-2030: Walmart+ households +10.8 pts; consumer surplus "
                        "+$0.37 per household per week; Amazon operating profit -$3.4bn in total over 2026-2030; "
                        "Walmart operating profit -$2.9bn in total over 2026-2030; firms' spend shares move by under "
                        "0.1 pts.")


def test_a_category_share_is_a_spend_share() -> None:
    """It printed "Amazon share of discretionary spend +0.1 pts; firms' spend shares unchanged": a
    difference was a spend share only if its label held "share of spend". Kinds come from the metric."""
    rows = [row("Amazon share of discretionary spend", "%", 0.12, 0.05, 0.19),
            row("Walmart share of spend", "%", 0.01, -0.02, 0.04)]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "by 2030")
    assert sentence == "cut against baseline, by 2030: Amazon share of discretionary spend +0.12 pts."
    kinds = {measure.label: _kind({"measure": measure.label, "unit": measure.unit}) for measure in DIFFERENCES}
    assert kinds["Walmart share of grocery spend"] == kinds["Amazon share of discretionary spend"] == "shares"
    assert kinds["Prime households"] == kinds["Both"] == "members" and kinds["Consumer surplus"] == "money"
    assert kinds["Kroger operating profit"] == "profit"


def test_a_difference_too_small_to_say_is_left_out() -> None:
    """Beyond run noise but under a tenth of its notable size: "-$0.00bn" would be read as a finding."""
    rows = [row("Other grocers operating profit", "$bn, last 52 weeks", -0.004, -0.006, -0.002),
            row("Kroger operating profit", "$bn, last 52 weeks", -0.013, -0.02, -0.006),
            row("Walmart share of spend", "%", 0.004, 0.001, 0.007)]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "by 2030")
    assert sentence == ("cut against baseline, by 2030: Kroger operating profit -$0.013bn a year; "
                        "firms' spend shares move by under 0.01 pts.")


def test_a_difference_under_one_is_said_to_two_significant_figures() -> None:
    """One decimal from 0.05 up read -0.073 points as "-0.1 pts", 37% larger; from 1 up one decimal."""
    rows = [row("Other grocers share of spend", "%", -0.073, -0.09, -0.055),
            row("Walmart+ households", "%", 10.84, 10.3, 11.3),
            row("Consumer surplus", "$ per household per week", 0.54, 0.5, 0.6)]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "by 2030")
    assert sentence == ("cut against baseline, by 2030: Walmart+ households +10.8 pts; consumer surplus +$0.54 per "
                        "household per week; Other grocers share of spend -0.073 pts.")


def test_with_one_replicate_only_notable_sizes_count() -> None:
    rows = [row("Amazon share of spend", "%", 0.04), row("Prime households", "%", -1.65),
            row("Amazon operating profit", "$bn, last 52 weeks", 0.05)]
    (sentence,) = answers_of(rows, "baseline", ["cut"], "at the end of the horizon")
    assert sentence == "cut against baseline, at the end of the horizon: Prime households -1.6 pts; firms' spend shares unchanged."
    (nothing,) = answers_of([row("Amazon operating profit", "$bn, last 52 weeks", 0.01)], "baseline", ["cut"], "by 2030")
    assert nothing == "cut against baseline, by 2030: no difference from the baseline stands out."


def test_each_what_if_gets_its_own_sentence() -> None:
    rows = [row("Walmart+ households", "%", 2.0, 1.0, 3.0, scenario="a"),
            row("Walmart+ households", "%", -2.0, -3.0, -1.0, scenario="b")]
    assert answers_of(rows, "base", ["a", "b"], "by 2030") == [
        "a against base, by 2030: Walmart+ households +2.0 pts.", "b against base, by 2030: Walmart+ households -2.0 pts."]


def test_read_with_care_names_caps_and_end_dates_once_for_all_scenarios_they_concern() -> None:
    """Amazon's doubled rural programme, under a 60% cap on each county's same-day share, builds
    stations past it (the baseline, with no cap, does not); both scenarios end their programmes
    inside the horizon: one note each, naming the scenarios it concerns."""
    import sim
    from sim.report.ensemble import Ensemble
    from sim.report.notes import PROFITS, notes

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    results = [sim.run(root / "baseline.yaml", seed=3, shoppers=300),
               sim.run(root / "levers" / "amazon_rural_push.yaml", seed=3, shoppers=300,
                       overrides={"amazon.rural.max_rural_coverage": 0.6})]
    said = notes(Ensemble(results))
    assert said[0] == PROFITS
    beyond = [note for note in said if "beyond those that take every county's rural same-day to its cap of 60%" in note]
    assert len(beyond) == 1 and beyond[0].startswith("lever_amazon_rural_push: ")
    stops = [note for note in said if "rural programme stops investing" in note]
    assert sorted(stops) == sorted(["baseline: Amazon's rural programme stops investing on 2026-12-31; rural reach "
                                    "stays where the stations built by then take it.",
                                    "lever_amazon_rural_push: Amazon's rural programme stops investing on 2028-12-31; "
                                    "rural reach stays where the stations built by then take it."])
    assert len(said) == len(set(said))


def test_read_with_care_says_that_the_surplus_agents_routing_costs_is_likely_overstated() -> None:
    """Agents that route 3% of their orders to Walmart arrive in both scenarios, sooner and wider in
    the lever's: one note naming both. A report of the baseline alone, of scenarios whose agents are
    the same, or of agents that route nothing (the default) has no such note."""
    import sim
    from sim.report.ensemble import Ensemble
    from sim.report.notes import notes

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    short = {"horizon.end": "2027-06-28", "walmart.agentic.partner_order_share": 0.03}
    base = sim.run(root / "baseline.yaml", seed=3, shoppers=300, overrides=short)
    fast = sim.run(root / "levers" / "agentic_commerce_fast.yaml", seed=3, shoppers=300, overrides=short)
    routing = [note for note in notes(Ensemble([base, fast])) if "partner_order_share" in note]
    assert len(routing) == 1 and routing[0].startswith("baseline, lever_agentic_commerce_fast: ")
    assert "likely overstated" in routing[0]
    again = sim.run(root / "baseline.yaml", seed=4, shoppers=300, overrides={**short, "name": "again"})
    assert not [note for note in notes(Ensemble([base, again])) if "partner_order_share" in note]
    assert not [note for note in notes(Ensemble([base])) if "partner_order_share" in note]
    unrouted = {"horizon.end": "2027-06-28"}
    plain = [sim.run(root / "baseline.yaml", seed=3, shoppers=300, overrides=unrouted),
             sim.run(root / "levers" / "agentic_commerce_fast.yaml", seed=3, shoppers=300, overrides=unrouted)]
    assert not [note for note in notes(Ensemble(plain)) if "partner_order_share" in note]


def _events_until(root, day: str) -> list[dict]:
    """The baseline's events up to ``day``, for a run that ends before its later ones."""
    import sim

    return [event.model_dump(mode="json") for event in sim.load_scenario(root / "baseline.yaml").events
            if event.date.isoformat() <= day]


def test_read_with_care_says_who_walmart_plus_draws_when_its_fee_changes() -> None:
    """A Walmart+ fee cut gets a note naming the what-if, with the first scenario's members' spend
    ratio as its runs measured it and the fitted own-liking spread; a Prime fee rise, or a second
    run of the baseline, gets none."""
    import sim
    from sim.jobs.targets import load_targets
    from sim.report.ensemble import Ensemble
    from sim.report.notes import notes
    from sim.shipped import CALIBRATION, folder

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    short = {"horizon.end": "2026-06-29"}  # past the baseline's last event (2026-06)
    base = sim.run(root / "baseline.yaml", seed=3, shoppers=300, overrides=short)
    cut = sim.run(root / "levers" / "walmart_plus_fee_cut.yaml", seed=3, shoppers=300, overrides=short)
    said = [note for note in notes(Ensemble([base, cut])) if "Walmart+'s fee changes" in note]
    assert len(said) == 1 and said[0].startswith("lever_walmart_plus_fee_cut: ")
    checks = {check.id: check for check in load_targets(folder(CALIBRATION) / "checks.yaml")}
    ratio = checks["walmart_plus_member_spend_ratio"].simulate(base)  # read over fiscal 2025, as its check reads it
    assert (f"its member households spend {ratio:.2f} times what other households spend at Walmart (fiscal 2025)"
            in said[0])
    spreads = base.scenario.memberships
    assert (f"spread ${spreads.walmart_plus_taste_sd_usd:,.0f} a year, against Prime's ${spreads.taste_sd_usd:,.0f}"
            in said[0])
    fees = checks["walmart_plus_fee_income_fy2025"]
    assert fees.miss(fees.simulate(base)) <= 1.0 and "Walmart+ fees in fiscal 2025" not in said[0]
    assert "Walmart says nearly 3 times non-subscribing customers (not met)" in said[0]
    # A baseline whose Walmart+ is worth far more holds more members than the counts: the note says what that does.
    many = {**short, "walmart.walmart_plus.perks_value_usd": 150}
    rich = sim.run(root / "baseline.yaml", seed=3, shoppers=300, overrides=many)
    rich_cut = sim.run(root / "levers" / "walmart_plus_fee_cut.yaml", seed=3, shoppers=300, overrides=many)
    (text,) = [note for note in notes(Ensemble([rich, rich_cut])) if "Walmart+'s fee changes" in note]
    booked = fees.simulate(rich)
    assert fees.miss(booked) > 1.0, "a Walmart+ worth $150 more books more fees than Walmart U.S. files"
    assert (f"The model books ${booked / 1e9:.3g}bn of Walmart+ fees in fiscal 2025, above the $2.6bn of membership "
            "and other income that Walmart U.S. files") in text
    assert "(too low for a cut, too high for a rise)" in text
    early = sim.run(root / "baseline.yaml", seed=3, shoppers=300,  # ends before fiscal 2025: the weekly mean, no fees
                    overrides={"horizon.end": "2023-06-26", "events": _events_until(root, "2023-06-26")})
    early_cut = sim.run(root / "baseline.yaml", seed=3, shoppers=300,
                        overrides={"name": "cut", "horizon.end": "2023-06-26", "events": _events_until(root, "2023-06-26"),
                                   "walmart.walmart_plus.fee_annual": 49})
    (text,) = [note for note in notes(Ensemble([early, early_cut])) if "Walmart+'s fee changes" in note]
    weekly = early.timeseries[(early.timeseries.metric == "member_spend_ratio") & (early.timeseries.firm == "walmart")]
    assert f"spend {weekly.value.mean():.2f} times what other households spend at Walmart (the weekly mean, 2021-2023)" in text
    assert "Walmart+ fees in fiscal 2025" not in text and "(a check these runs do not reach)" in text
    prime = sim.run(root / "levers" / "prime_fee_up.yaml", seed=3, shoppers=300, overrides=short)
    again = sim.run(root / "baseline.yaml", seed=4, shoppers=300, overrides={**short, "name": "again"})
    for ensemble in (Ensemble([base, prime]), Ensemble([base, again]), Ensemble([base])):
        assert not [note for note in notes(ensemble) if "Walmart+'s fee changes" in note]


def test_read_with_care_says_when_online_gains_past_the_years_it_is_fitted_to() -> None:
    """The baseline's online gain runs on to 2030 and the stall lever's to 2026: a note each, with
    the date where there is one; a gain held by the end of 2024 is fitted all the way, so no note;
    a negative pace is said as such."""
    import sim
    from sim.report.ensemble import Ensemble
    from sim.report.notes import notes

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    results = [sim.run(root / "baseline.yaml", seed=3, shoppers=300),
               sim.run(root / "levers" / "online_growth_stalls.yaml", seed=3, shoppers=300),
               sim.run(root / "baseline.yaml", seed=3, shoppers=300, overrides={
                   "name": "held", "shoppers.online_gain.end": "2024-12-31"}),
               sim.run(root / "baseline.yaml", seed=3, shoppers=300, overrides={
                   "name": "losing", "shoppers.online_gain.per_year": -0.01})]
    gains = [note for note in notes(Ensemble(results)) if "shoppers.online_gain" in note]
    assert [note.split(":")[0] for note in gains] == ["baseline", "lever_online_growth_stalls", "losing"]
    assert "online loses ground to stores 1.0% of the basket a year to the end" in gains[2]
    fitted = f"{sim.load_scenario(root / 'baseline.yaml').shoppers.online_gain.per_year:.1%}"  # the calibrated pace
    assert f"{fitted} of the basket a year to the end of the horizon (shoppers.online_gain" in gains[0]
    assert f"{fitted} of the basket a year until 2026-01-01 (shoppers.online_gain" in gains[1]
    assert "online_growth_stalls lever" in gains[0] and "online_growth_stalls lever" not in gains[1]


def test_read_with_care_names_the_published_checks_the_baseline_misses(tmp_path) -> None:
    """A check the runs meet is not named; one they miss is, with the runs' mean and the published
    value; a check dated outside the runs, or one they do not record, is left out; the shipped checks give the same verdicts as
    the calibration's own evaluation."""
    import html

    import yaml

    import sim
    from sim.jobs.targets import Target, evaluate, load_targets
    from sim.report.ensemble import Ensemble
    from sim.report.notes import checks_missed, notes
    from sim.shipped import CALIBRATION, folder

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    runs = [sim.run(root / "baseline.yaml", seed=seed, shoppers=300) for seed in (3, 4)]
    ensemble = Ensemble(runs)
    shipped = load_targets(folder(CALIBRATION) / "checks.yaml")
    fit = evaluate(shipped, runs)
    said = [note for note in notes(ensemble) if "published figures that the calibration was not fitted to" in note]
    missed = [check for check, row in zip(shipped, fit.table.itertuples()) if not row.within and row.miss == row.miss]
    if missed:
        assert len(said) == 1
        for check in shipped:
            assert (f"<li>{html.escape(check.label or check.id)}: " in said[0]) == (check in missed), check.id
    else:
        assert said == []

    share = {"metric": "channel_share", "segment": "walmart_online"}
    period = ["2024-02-01", "2025-01-31"]
    measure = Target(id="x", description="x", metric=share, over=period, value=0.1, tolerance=0.01, confidence="H",
                     source="test")
    value = sum(measure.simulate(run) for run in runs) / len(runs)
    checks = {"targets": [
        {"id": "met", "label": "a met figure", "description": "d", "metric": share, "over": period,
         "value": round(value, 4), "tolerance": 0.01, "confidence": "H", "source": "test"},
        {"id": "far_off", "label": "a missed figure", "description": "d", "metric": share, "over": period,
         "value": 0.9, "tolerance": 0.01, "confidence": "H", "source": "test"},
        {"id": "bound", "label": "a missed bound", "description": "d", "metric": share, "over": period,
         "above": 0.95, "tolerance": 0.01, "confidence": "H", "source": "test"},
        {"id": "unmeasured", "label": "a figure the runs do not record", "description": "d",
         "metric": {"metric": "member_spend_ratio", "firm": "kroger"}, "over": period, "value": 3.0, "tolerance": 0.1,
         "confidence": "H", "source": "test"},
        {"id": "later", "label": "a figure after the runs", "description": "d", "metric": share,
         "over": ["2031-01-01", "2031-12-31"], "value": 0.9, "tolerance": 0.01, "confidence": "H", "source": "test"}]}
    path = tmp_path / "checks.yaml"
    path.write_text(yaml.safe_dump(checks))
    (note,) = checks_missed(ensemble, path)
    assert note == ("baseline: its runs miss published figures that the calibration was not fitted to "
                    "(docs/calibration.md, \"Published figures the fit was not given\", reads each):<ul>"
                    f"<li>a missed figure: model {value:.1%}, published 90.0% (tolerance \u00b11 pts; high confidence)</li>"
                    f"<li>a missed bound: model {value:.1%}, published at least 95.0% (tolerance \u00b11 pts; high "
                    "confidence)</li></ul>")


def test_read_with_care_reads_checks_within_the_first_scenarios_own_dates(tmp_path) -> None:
    """A check past the end of the first scenario's runs is left out, even when a later scenario's
    runs reach it (it would otherwise be read from a part of the period, or the last week)."""
    import yaml

    import sim
    from sim.report.ensemble import Ensemble
    from sim.report.notes import checks_missed

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    events = [e.model_dump(mode="json") for e in sim.load_scenario(root / "baseline.yaml").events
              if e.date.isoformat() <= "2024-06-30"]
    short = sim.run(root / "baseline.yaml", seed=3, shoppers=300,
                    overrides={"name": "short", "horizon.end": "2024-06-30", "events": events})
    full = sim.run(root / "baseline.yaml", seed=3, shoppers=300)
    share = {"metric": "channel_share", "segment": "walmart_online"}
    check = {"id": "far_off", "label": "a missed figure", "description": "d", "metric": share,
             "over": ["2024-02-01", "2025-01-31"], "value": 0.9, "tolerance": 0.01, "confidence": "H", "source": "test"}
    path = tmp_path / "checks.yaml"
    path.write_text(yaml.safe_dump({"targets": [check]}))
    assert checks_missed(Ensemble([short, full]), path) == []
    assert len(checks_missed(Ensemble([full, short]), path)) == 1


def test_a_check_in_nominal_dollars_on_results_older_than_the_price_level_says_it_was_not_read(tmp_path) -> None:
    """``retailsim report`` rebuilds old folders: results written before ``price_level`` was recorded
    cannot be read in nominal dollars, and the note says so instead of failing or keeping quiet."""
    import yaml

    import sim
    from sim.report.ensemble import Ensemble
    from sim.report.notes import checks_missed

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    run = sim.run(root / "baseline.yaml", seed=3, shoppers=300)
    run.timeseries = run.timeseries[run.timeseries["metric"] != "price_level"]
    check = {"id": "growth", "label": "revenue growth", "description": "d", "over": ["2025-01-01", "2025-12-31"],
             "metric": {"metric": "revenue", "firm": "walmart", "nominal": True},
             "growth_from": ["2021-01-04", "2021-12-31"], "value": 0.2, "tolerance": 0.03, "confidence": "H",
             "source": "test"}
    path = tmp_path / "checks.yaml"
    path.write_text(yaml.safe_dump({"targets": [check]}))
    (note,) = checks_missed(Ensemble([run]), path)
    assert "<li>revenue growth: not read: these results have no price_level series" in note


def test_read_with_care_says_how_many_targets_each_parameter_draws_runs_meet(tmp_path) -> None:
    """With parameter draws, one note counts the targets each draw's baseline runs meet (their mean
    over the draw's seeds) and lists those most draws miss with the draws' range; runs without
    draws get none. Two draws here: the shipped baseline and one with a narrower liking for
    memberships, which moves Prime's share; one target is set at the first draw's value."""
    import yaml

    import sim
    from sim.jobs.targets import Target
    from sim.report.ensemble import Ensemble
    from sim.report.notes import draws_against_targets, members_chosen_note, notes

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    short = {"horizon.end": "2026-06-29"}  # past the baseline's last event (2026-06)
    draws = [[sim.run(root / "baseline.yaml", seed=seed, shoppers=300, overrides={**short, **changes})
              for seed in (3, 4)] for changes in ({}, {"memberships.taste_sd_usd": 20.0, "memberships.walmart_plus_taste_sd_usd": 20.0,
                                                  "shoppers.online_gain.per_year": 0.03})]
    for draw, runs in enumerate(draws):
        for run in runs:
            run.manifest["parameter_draw"] = draw
    prime = {"metric": "prime_share"}
    period = ["2021-07-01", "2021-12-31"]
    measure = Target(id="x", description="x", metric=prime, over=period, value=0.5, tolerance=0.1, confidence="H",
                     source="test")
    first, second = (sum(measure.simulate(run) for run in runs) / 2 for runs in draws)
    assert abs(first - second) > 0.01, "the second draw must move Prime's share"
    cap = min(first, second) - 0.05  # a bound both draws miss
    targets = {"targets": [
        {"id": "prime_first", "description": "Prime at the first draw value. More words", "metric": prime, "over": period, "value": round(first, 4),
         "tolerance": 0.002, "confidence": "H", "source": "test"},
        {"id": "prime_wide", "description": "d", "metric": prime, "over": period, "value": 0.5, "tolerance": 0.5,
         "confidence": "H", "source": "test"},
        {"id": "after", "description": "d", "metric": prime, "over": ["2029-01-01", "2029-12-31"], "value": 0.9,
         "tolerance": 0.01, "confidence": "H", "source": "test"},
        {"id": "prime_cap", "label": "Prime under a cap", "description": "d", "metric": prime, "over": period, "below": round(cap, 4),
         "tolerance": 0.01, "confidence": "H", "source": "test"}]}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(targets))
    (note,) = draws_against_targets(Ensemble(draws[0] + draws[1]), path)
    low, high = sorted([first, second])
    assert note.startswith("baseline over 2 parameter draws: each draw's runs meet 1 to 2 of the 3 calibration "
                           "targets they cover")
    # Named by label, else by the description's first sentence; the closest draw beside the range.
    assert note.endswith(f"most often missed:<ul><li>Prime under a cap: {low:.1%} to {high:.1%} over draws (the "
                         f"closest {low:.1%}), published at most {round(cap, 4):.1%} (tolerance \u00b11 pts), missed by "
                         f"2 of 2 draws</li><li>Prime at the first draw value: {low:.1%} to {high:.1%} over draws (the "
                         f"closest {first:.1%}), published {round(first, 4):.1%} (tolerance \u00b10.2 pts), missed by 1 "
                         "of 2 draws</li></ul>")
    assert "they hold worlds that miss published figures" in note  # 1 of 3 met: far from the point
    near = tmp_path / "near.yaml"  # every draw meets the one target: read as a posterior around the point
    near.write_text(yaml.safe_dump({"targets": [targets["targets"][1]]}))
    (close,) = draws_against_targets(Ensemble(draws[0] + draws[1]), near)
    assert "meet 1 of the 1 calibration targets" in close and "a posterior around the calibrated point" in close
    assert "worlds that miss" not in close and close.endswith("near the point.")
    (alone,) = draws_against_targets(Ensemble(draws[1]), path)  # one draw: its runs, no range of draws
    assert alone.startswith("baseline over 1 parameter draw: the draw's runs meet 1 of the 3 calibration targets")
    assert "missed by 1 of 1 draw</li>" in alone
    # The other notes that read a drawn parameter give its range over the draws.
    said = " ".join(notes(Ensemble(draws[0] + draws[1])))
    fitted = draws[0][0].scenario
    assert (f"online gains on stores {fitted.shoppers.online_gain.per_year:.1%} to 3.0% of the basket a year over "
            "the parameter draws") in said
    spread = f"spread $20 to ${fitted.memberships.walmart_plus_taste_sd_usd:,.0f} a year over the parameter draws"
    assert spread in members_chosen_note(Ensemble(draws[0] + draws[1]))
    plain = sim.run(root / "baseline.yaml", seed=3, shoppers=300, overrides=short)  # no parameter draw
    assert draws_against_targets(Ensemble([plain]), path) == []


def test_a_walmart_plus_fee_cut_is_told_that_the_catalogue_records_its_answer_above_the_evidence() -> None:
    """The model's answer to halving the fee lies above its band (docs/levers.md); the report said only that
    the response is the least tested part. A cut gets the record's note, a rise does not."""
    import sim
    from sim.report.ensemble import Ensemble
    from sim.report.notes import RECORDED_MISSES, notes

    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios"
    runs = [sim.run(root / "baseline.yaml", seed=3, shoppers=300,
                    overrides={"horizon.end": "2021-12-27", **changes})
            for changes in ({}, {"walmart.walmart_plus.fee_annual@2021-06-01": 49},
                            {"walmart.walmart_plus.fee_annual@2021-06-01": 129})]
    for run, name in zip(runs, ("baseline", "cut", "rise")):
        run.scenario = run.scenario.model_copy(update={"name": name})
    said = notes(Ensemble(runs))
    warned = [text for text in said if RECORDED_MISSES["walmart_plus_fee_cut"] in text]
    assert len(warned) == 1 and warned[0].startswith("cut: ") and "above the band the evidence supports" in warned[0]
    assert any(text.startswith("cut, rise: Walmart+'s fee changes here.") for text in said)
