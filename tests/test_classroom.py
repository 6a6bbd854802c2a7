"""The classroom game on the server: joining, decisions checked and combined, the scenario followed by
the firms no team runs, rewind by replay, what each team may see, events and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from sim.classroom.game import Game, GameError, Settings, combine
from sim.classroom.levers import GAME_LEVERS, TEAM_FIRMS, specs
from sim.classroom.market import split_events
from sim.classroom.view import league, view
from sim.scenario import load_scenario
from sim.scenario.paths import get_path
from sim.shipped import baseline

HOUSEHOLDS = 300


def scenario():
    return load_scenario(baseline(), {"population.shoppers": HOUSEHOLDS})


def new_game(**more) -> Game:
    settings = {"start": dt.date(2025, 1, 1), "join_code": "ABC123", **more}
    return Game(Settings(scenario(), **settings))


@pytest.fixture(scope="module")
def empty() -> Game:
    """A game nobody has joined (for refusals that change nothing)."""
    return new_game()


@pytest.fixture(scope="module")
def played():
    """Three teams, two rounds: Red (Amazon) cuts the Prime fee, Blue (Walmart) opens dark stores,
    Green (Kroger) submits nothing; a fraud surge is injected in round 2."""
    game = new_game()
    for team, firm in (("Red", "amazon"), ("Blue", "walmart"), ("Green", "kroger")):
        assert game.join(team, firm, "abc123") == firm
    game.submit("Red", {"amazon.prime.fee_annual": 99.0})
    game.submit("Blue", {"walmart.dark_stores.count": 40})
    first = game.advance()
    game.inject("fraud_surge")
    game.submit("Blue", {"walmart.walmart_plus.fee_annual": 59.0})
    second = game.advance()
    return game, first, second


def test_decisions_reach_the_shared_market(played) -> None:
    game, first, second = played
    params = game.market.model.params
    assert params.amazon.prime.fee_annual == 99.0 and params.walmart.walmart_plus.fee_annual == 59.0
    assert params.walmart.dark_stores.count == 40 and params.returns.fraud_share_of_returns == 0.25
    assert first.applied == {"amazon.prime.fee_annual": 99.0, "walmart.dark_stores.count": 40}
    assert (first.first, first.last, first.weeks) == (dt.date(2025, 1, 6), dt.date(2025, 3, 31), 13)
    assert second.first == dt.date(2025, 4, 7) and game.round == 3
    # Dark stores cost capital in the round they open: Walmart's profit falls against the quarter before.
    walmart = first.results["firms"]["walmart"]
    assert walmart["operating_profit_usd_bn"] < game.before["firms"]["walmart"]["operating_profit_usd_bn"]
    assert set(first.results["firms"]) == {"amazon", "walmart", "kroger", "rivals"}


def test_several_teams_of_a_firm_combine_by_the_median() -> None:
    assert combine([79.0, 159.0, 99.0]) == 99.0
    assert combine([79.0, 99.0]) == 89.0
    assert combine([10, 40, 41]) == 40 and isinstance(combine([10, 41]), int)
    assert combine([True, False]) is True and combine([False, False, True]) is False
    game = new_game(teams_per_firm=3)
    for team, fee in (("A", 79.0), ("B", 159.0), ("C", 99.0)):
        game.join(team, "amazon", "ABC123")
        game.submit(team, {"amazon.prime.fee_annual": fee})
    game.submit("A", {"amazon.prime.fee_annual": 169.0})  # a second submission replaces the first
    assert game.advance().applied == {"amazon.prime.fee_annual": 159.0}
    assert game.market.model.params.amazon.prime.fee_annual == 159.0


@pytest.mark.parametrize("name, firm, code, message", [
    ("Red", "amazon", "WRONG1", "that is not this game's join code: ask your teacher for it"),
    ("Red", "amazon", None, "that is not this game's join code: ask your teacher for it"),
    ("<script>", "amazon", "ABC123", "a team name is 1 to 24 letters, digits, spaces, '-' or '_', starting with a "
                                     "letter or digit"),
    ("x" * 25, "amazon", "ABC123", "a team name is 1 to 24 letters, digits, spaces, '-' or '_', starting with a "
                                   "letter or digit"),
    ("Red", "rivals", "ABC123", "a team runs one of Amazon, Walmart, Kroger"),
    ("Red", ["amazon"], "ABC123", "a team runs one of Amazon, Walmart, Kroger"),
])
def test_joining_is_checked(empty, name, firm, code, message) -> None:
    game = empty
    with pytest.raises(GameError) as refused:
        game.join(name, firm, code)
    assert str(refused.value) == message and game.teams == {}


def test_too_many_teams_unknown_names_and_a_firm_taken_twice_are_refused() -> None:
    game = new_game(max_teams=3, teams_per_firm=1)
    game.join("Red", "amazon", "ABC123")
    assert game.join("Red", "amazon", "ABC123") == "amazon"  # a reloaded page rejoins
    with pytest.raises(GameError, match="^team Red already runs Amazon$"):
        game.join("Red", "walmart", "ABC123")
    with pytest.raises(GameError, match="^Amazon already has 1 teams: choose another firm$"):
        game.join("Blue", "amazon", "ABC123")
    game.join("Blue", "walmart", "ABC123")
    game.join("Green", "kroger", "ABC123")
    with pytest.raises(GameError, match=r"^the game is full \(3 teams\)$"):
        game.join("Purple", "kroger", "ABC123")
    named = new_game(roster=(("Red", "amazon"), ("Blue", "walmart")))
    with pytest.raises(GameError, match="^no team is called 'Orange' in this game: the teams are Red, Blue$"):
        named.join("Orange", "amazon", "ABC123")
    assert named.join("Blue", "amazon", "ABC123") == "walmart", "the teacher's roster decides the firm"


def test_a_team_sets_only_its_own_firms_levers_within_their_bounds() -> None:
    game = new_game()
    game.join("Red", "amazon", "ABC123")
    refusals = {
        "team Red runs Amazon: it cannot set walmart.walmart_plus.fee_annual": {"walmart.walmart_plus.fee_annual": 0.0},
        "team Red runs Amazon: it cannot set population.shoppers": {"population.shoppers": 10},
        "Prime fee must be between $0/yr and $278/yr, got $9,999/yr": {"amazon.prime.fee_annual": 9999},
        "Prime fee must be between $0/yr and $278/yr, got $-1/yr": {"amazon.prime.fee_annual": -1},
        "Prime fee: expected a number, got 'cheap'": {"amazon.prime.fee_annual": "cheap"},
        "Prime fee must be between $0/yr and $278/yr, got nan": {"amazon.prime.fee_annual": float("nan")},
        "Prime fee: expected a number, got True": {"amazon.prime.fee_annual": True},
        "Prices, grocery must be between 0.80 x the reference basket and 1.30 x the reference basket, got 5.00 x "
        "the reference basket": {"amazon.prices.grocery": 5.0},
        "no decisions were sent": {},
    }
    for message, values in refusals.items():
        with pytest.raises(GameError) as refused:
            game.submit("Red", values)
        assert str(refused.value) == message
    with pytest.raises(GameError, match="^this page has not joined the game"):
        game.submit("Blue", {"walmart.walmart_plus.fee_annual": 49.0})
    assert game.pending == {}
    game.join("Blue", "walmart", "ABC123")
    with pytest.raises(GameError, match="^Dark stores: expected a whole number, got 2.5$"):
        game.submit("Blue", {"walmart.dark_stores.count": 2.5})
    # Every lever's range lies within the schema's, around the value the game starts from.
    for firm, levers in specs(game.market.model.params).items():
        for path, spec in levers.items():
            assert spec["min"] <= get_path(game.market.model.params, path) <= spec["max"], path


def test_pause_and_the_timer_close_decisions() -> None:
    game = new_game(round_minutes=1)
    game.join("Red", "amazon", "ABC123")
    assert 59 < game.time_left() <= 60
    game.pause()
    with pytest.raises(GameError, match="^the teacher has paused the game"):
        game.submit("Red", {"amazon.prime.fee_annual": 99.0})
    with pytest.raises(GameError, match="^resume the game before advancing the market$"):
        game.advance()
    left = game.time_left()
    game.pause(False)
    assert abs(game.time_left() - left) < 1, "the clock stood still while paused"
    game.deadline = 0.0  # the minute has passed
    with pytest.raises(GameError, match="^time is up for round 1: the teacher will advance the market$"):
        game.submit("Red", {"amazon.prime.fee_annual": 99.0})
    game.advance()  # the teacher may still advance; the next round has its own minute
    assert game.time_left() > 59


def test_firms_no_team_runs_follow_the_scenario_and_a_teams_firm_its_decisions() -> None:
    """Baseline: Prime's fee rises from $119 to $139 in February 2022 (an event). With no team on
    Amazon it rises; with a team that never touches it, the fee stays where the team left it."""
    held = [entry for entry in split_events(scenario())[1] if entry[1] == "amazon.prime.fee_annual"]
    assert held and held[0][2] == 139
    followed, decided = (new_game(start=dt.date(2021, 9, 1), weeks_per_round=52) for _ in range(2))
    decided.join("Red", "amazon", "ABC123")
    for game in (followed, decided):
        assert game.current("amazon")["amazon.prime.fee_annual"] == 119.0
        game.advance()
    assert followed.market.model.params.amazon.prime.fee_annual == 139.0
    assert decided.market.model.params.amazon.prime.fee_annual == 119.0
    # The other events of the scenario still run for every firm (Walmart's clinics close in 2024).
    assert any("walmart.health.clinics_open" in event["set"] for event in split_events(scenario())[0])


def test_rewind_replays_the_recorded_rounds_exactly(played) -> None:
    game, first, second = played
    before = (second.results, game.market.model.params)
    game.rewind(2)
    assert game.round == 2 and len(game.rounds) == 1 and game.rounds[0].results == first.results
    assert game.market.model.params.amazon.prime.fee_annual == 99.0
    assert game.market.model.params.returns.fraud_share_of_returns == 0.10, "round 2's event is forgotten"
    game.inject("fraud_surge")
    game.submit("Blue", {"walmart.walmart_plus.fee_annual": 59.0})
    again = game.advance()
    assert again.results == before[0] and game.market.model.params == before[1]
    game.rewind(1)  # the copy of the first round's market is untouched by the rounds played since
    assert game.market.next_date() == game.start and game.rounds == []
    assert game.market.model.params.amazon.prime.fee_annual == 139.0
    for team, values in ({"Red": {"amazon.prime.fee_annual": 99.0}, "Blue": {"walmart.dark_stores.count": 40}}).items():
        game.submit(team, values)
    assert game.advance().results == first.results
    game.inject("fraud_surge")
    game.submit("Blue", {"walmart.walmart_plus.fee_annual": 59.0})
    assert game.advance().results == before[0]
    with pytest.raises(GameError, match="^rewind to a round from 1 to 3$"):
        game.rewind(7)
    with pytest.raises(GameError, match="^rewind to a round from 1 to 3$"):
        game.rewind("../1")


def test_each_team_sees_its_own_firms_decisions_until_the_teacher_reveals_the_rivals(played) -> None:
    game = played[0]
    game.reveal(False)
    red, blue, teacher = view(game, "Red"), view(game, "Blue"), view(game, None)
    assert red["rounds"][0]["applied"] == {"amazon.prime.fee_annual": 99.0}
    assert set(red["rounds"][0]["submissions"]) == {"Red"}
    assert blue["rounds"][0]["applied"] == {"walmart.dark_stores.count": 40}
    assert "amazon.prime.fee_annual" not in str(blue) and "walmart" not in str(red["rounds"][0]["applied"])
    assert red["pending"] == {} and red["queued"] == [], "what others sent this round is the teacher's alone"
    assert teacher["rounds"][0]["applied"] == {"amazon.prime.fee_annual": 99.0, "walmart.dark_stores.count": 40}
    assert red["rounds"][0]["results"] == teacher["rounds"][0]["results"], "results are public"
    game.reveal(True)
    assert view(game, "Blue")["rounds"][0]["applied"] == teacher["rounds"][0]["applied"]
    game.reveal(False)
    table = league(teacher)
    assert [row["firm"] for row in table] != [] and {row["firm"] for row in table} == set(TEAM_FIRMS)
    assert table == sorted(table, key=lambda row: -row["margin_effect"])


def test_the_league_measures_decisions_against_the_same_market_left_alone() -> None:
    """The market left alone is exactly the game played without the teams' decisions (the same
    teams, weeks and events): a team that decides nothing scores 0, the market's trend counts for
    no one, and a rewind replays it too."""
    decided, idle = new_game(), new_game()
    for game in (decided, idle):
        for team, firm in (("Red", "amazon"), ("Blue", "walmart"), ("Green", "kroger")):
            game.join(team, firm, "ABC123")
    decided.submit("Red", {"amazon.prime.fee_annual": 99.0})
    decided.submit("Green", {"kroger.prices.grocery": 0.9})
    for game in (decided, idle):
        game.advance()
        game.inject("fraud_surge")
        game.advance()
    assert [played.alone for played in idle.rounds] == [None, None], "no decision: the game is its own market left alone"
    assert [played.alone for played in decided.rounds] == [played.results for played in idle.rounds]
    still = league(view(idle, None))
    assert {row["margin_effect"] for row in still} == {0.0} and [row["rank"] for row in still] == [1, 1, 1]
    assert any(row["margin_change"] != 0.0 for row in still), "the market's own trend moves margins"
    table = {row["firm"]: row for row in league(view(decided, None))}
    now, alone = decided.rounds[-1].results["firms"], idle.rounds[-1].results["firms"]
    for firm in ("amazon", "kroger", "walmart"):
        assert table[firm]["margin_effect"] == now[firm]["operating_margin"] - alone[firm]["operating_margin"]
        assert table[firm]["share_effect"] == now[firm]["spend_share"] - alone[firm]["spend_share"]
    assert table["kroger"]["share_effect"] > 0, "Kroger's 10% grocery price cut wins it spend against the market left alone"
    assert sorted(row["rank"] for row in table.values()) == [1, 2, 3]
    kept = decided.rounds[1].alone
    decided.rewind(2)
    decided.inject("fraud_surge")
    assert decided.advance().alone == kept
    decided.rewind(1)
    assert decided.alone is None


def test_the_teacher_removes_a_team_and_its_firm_follows_the_scenario_unless_it_rejoins() -> None:
    game = new_game()
    game.join("Red", "amazon", "ABC123")
    game.join("Blue", "walmart", "ABC123")
    game.submit("Red", {"amazon.prime.fee_annual": 99.0})
    with pytest.raises(GameError, match="^no team is called 'Pink' in this game$"):
        game.remove("Pink")
    version = game.version
    game.remove("Red")
    assert game.version > version and "Red" not in game.teams and "Red" not in game.pending
    played = game.advance()
    assert played.teams == {"Blue": "walmart"} and played.applied == {} and played.run_firms == ("walmart",)
    assert game.market.model.params.amazon.prime.fee_annual == 139.0, "the removed team's submission went with it"
    with pytest.raises(GameError, match="^this page has not joined the game"):
        game.submit("Red", {"amazon.prime.fee_annual": 99.0})
    assert game.join("red", "amazon", "ABC123") == "amazon" and game.teams["red"] == "amazon"
    game.submit("red", {"amazon.prime.fee_annual": 99.0})
    assert game.advance().run_firms == ("amazon", "walmart")
    assert game.rounds[0].teams == {"Blue": "walmart"}, "the rounds played keep who played them"


def test_events_from_the_articles_take_effect_at_the_next_round() -> None:
    game = new_game()
    with pytest.raises(GameError, match="^unknown event: choose one of fraud_surge, kroger_turnaround, "
                                        "agentic_commerce$"):
        game.inject("meteor")
    game.inject("kroger_turnaround")
    game.inject("agentic_commerce")
    agents = game.market.model.params.walmart.agentic.adoption.level(game.market.model.date)
    played = game.advance()
    params = game.market.model.params
    assert params.kroger.turnaround.programme.target == 1.0
    assert params.kroger.turnaround.programme.start == played.first - dt.timedelta(days=7)
    adoption = params.walmart.agentic.adoption
    assert adoption.target == 0.4 and adoption.initial == pytest.approx(agents, abs=1e-6)
    assert game.queued == [] and list(played.events) == ["kroger_turnaround", "agentic_commerce"]


def test_the_history_exports_as_csv(played) -> None:
    game = played[0]
    decisions, results = (list(csv.DictReader(io.StringIO(text))) for text in game.export())
    red = [row for row in decisions if row["team"] == "Red"]
    assert red[0] == {"round": "1", "first_week": "2025-01-06", "last_week": "2025-03-31", "team": "Red",
                      "firm": "amazon", "lever": "amazon.prime.fee_annual", "value": "99.0", "firm_value": "99.0"}
    assert {"round": "2", "team": "teacher", "firm": "market", "lever": "event", "value": "fraud_surge"}.items() \
        <= next(row for row in decisions if row["team"] == "teacher").items()
    rounds = {row["round"] for row in results}
    assert rounds == {"0", "1", "2"}
    metrics = {(row["firm"], row["metric"]) for row in results}
    assert ("amazon", "operating_profit_usd_bn") in metrics and ("market", "consumer_surplus_usd") in metrics
    assert ("kroger", "members_millions") not in metrics
    value = {(row["round"], row["firm"], row["metric"], row["market"]): float(row["value"]) for row in results}
    assert {row["market"] for row in results} == {"played", "left_alone"}
    assert value["1", "amazon", "operating_margin", "left_alone"] == game.rounds[0].alone["firms"]["amazon"]["operating_margin"]
    assert value["1", "amazon", "operating_margin", "played"] != value["1", "amazon", "operating_margin", "left_alone"]
    assert all(path in GAME_LEVERS[row["firm"]] for row in decisions if row["team"] != "teacher"
               for path in [row["lever"]])


# -- the command's addresses and codes -------------------------------------------------------------------

def test_the_printed_addresses_carry_the_codes_and_only_the_teachers_key_opens_the_controls() -> None:
    from sim.classroom import state
    from sim.classroom.serve import FORBIDDEN_PAGE, lines, settings
    from sim.dashboard.serve import check

    options = check(baseline(), "0.0.0.0", "8765", HOUSEHOLDS, "class-code-1")
    game_settings = settings(options, join_code="abc123")
    teacher, students = lines(options, game_settings, "teacher-key")
    assert teacher.startswith("classroom: teacher page http://0.0.0.0:8765/?code=class-code-1&teacher=teacher-key")
    assert students == "classroom: students open http://0.0.0.0:8765/?code=class-code-1 and join with code ABC123"
    assert b"retailsim classroom" in FORBIDDEN_PAGE and b"access code" in FORBIDDEN_PAGE
    assert check(baseline()).access_code is None, "loopback needs no access code"
    assert len(settings(check(baseline(), shoppers=HOUSEHOLDS)).join_code) == 6
    state.configure(None, "teacher-key", students)
    assert state.is_teacher("teacher-key") and not state.is_teacher("teacher-kez")
    assert not state.is_teacher(None) and not state.is_teacher(["teacher-key"])


def test_the_game_ends_with_the_scenario() -> None:
    game = new_game(start=dt.date(2030, 9, 30))
    game.join("Red", "amazon", "ABC123")
    game.submit("Red", {"amazon.prices.grocery": 1.0900000000000003})
    assert game.pending["Red"]["amazon.prices.grocery"] == 1.09
    assert game.advance().weeks == 13 and not game.finished
    last = game.advance()  # the horizon's last week: a shorter round
    assert game.finished and last.last == game.market.model.scenario.horizon.end and last.weeks == 1
    for refused in (lambda: game.submit("Red", {"amazon.prime.fee_annual": 99.0}), game.advance):
        with pytest.raises(GameError, match="^the game is over: the market has reached the end of the scenario$"):
            refused()


def test_a_second_press_of_advance_does_not_play_a_round_without_the_teams() -> None:
    """A double click (or two teacher pages) sent two advances for round 1: the second played round 2 with
    no decisions. Each press says the round its page showed; one that arrives late is refused."""
    game = new_game()
    game.join("Red", "amazon", "ABC123")
    game.advance(seen_round=1)
    with pytest.raises(GameError, match="^round 1 has already been advanced: the teams are deciding round 2$"):
        game.advance(seen_round=1)
    assert game.round == 2 and len(game.rounds) == 1
    game.rewind(2)  # another teacher page clears round 2's submissions: a press this page sent before is refused
    with pytest.raises(GameError, match="^the game was rewound since this page showed it"):
        game.advance(seen_round=2, seen_rewinds=0)
    game.advance(seen_round=2, seen_rewinds=1)


def test_round_ones_clock_starts_when_the_first_team_joins_not_when_the_server_starts() -> None:
    game = new_game(round_minutes=1)
    assert game.time_left() is None, "nobody has joined: no clock yet"
    game.join("Red", "amazon", "ABC123")
    assert 59 < game.time_left() <= 60
    game.deadline -= 30
    game.join("Blue", "walmart", "ABC123")
    assert game.time_left() <= 30, "a later team does not restart it"
    paused = new_game(round_minutes=1)  # the teacher pauses to explain the game before anyone joins
    paused.pause()
    paused.join("Red", "amazon", "ABC123")
    assert paused.time_left() == 60
    paused.pause(False)
    assert 59 < paused.time_left() <= 60, "the minute starts when the teacher resumes"


def test_team_names_are_one_team_whatever_their_capitals() -> None:
    """Joining as "red" made a second Amazon team beside Red, which the teacher could not remove."""
    game = new_game()
    game.join("Red", "amazon", "ABC123")
    assert game.join(" red ", "amazon", "ABC123") == "amazon" and list(game.teams) == ["Red"]
    assert game.team_name("RED") == "Red"
    with pytest.raises(GameError, match="^team Red already runs Amazon"):
        game.join("rED", "walmart", "ABC123")
    rostered = new_game(roster=(("Red", "amazon"), ("Blue", "walmart")))
    assert rostered.join("blue", "amazon", "ABC123") == "walmart" and list(rostered.teams) == ["Blue"]


def test_a_rewind_clears_the_submissions_the_team_pages_show() -> None:
    """Team pages read their submission from the game (``mine``) and start again on a rewind (``rewinds``):
    after one they said "Submitted" for a submission the rewind had cleared."""
    game = new_game()
    game.join("Blue", "walmart", "ABC123")
    game.submit("Blue", {"walmart.walmart_plus.fee_annual": 59.0})
    before = view(game, "Blue")
    assert before["mine"] == {"walmart.walmart_plus.fee_annual": 59.0} and before["rewinds"] == 0
    game.rewind(1)
    after = view(game, "Blue")
    assert after["mine"] == {} and after["rewinds"] == 1 and after["round"] == 1


def test_the_status_counts_the_weeks_a_last_round_will_play() -> None:
    game = new_game(start=dt.date(2030, 9, 30))
    assert view(game, None)["weeks_this_round"] == 13
    game.advance()
    assert view(game, None)["weeks_this_round"] == 1 == game.advance().weeks
