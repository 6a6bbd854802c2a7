"""The classroom game's page (Solara): a join form, a team's page and the teacher's page.

Served by ``retailsim classroom`` (``sim/classroom/serve.py``). Every browser session has its own
page state (who it is: the teacher, a team, or nobody yet); the market is the server's one
:class:`~sim.classroom.game.Game` (``state.GAME``). Each session waits on the game's changes in a
thread of its own and redraws when the game moves. Every action goes through the game's methods,
which check it; a page shows only its :func:`~sim.classroom.view.view` of the game.

Why Solara, as the solo dashboard: one Python process already serves many sessions with their own
state, the module-level game is shared by all of them, and the dashboard's server (access gate,
offline front end, clean stops) serves it unchanged. No second web framework, no new dependency.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import solara

from ..dashboard.app import CSS as DASHBOARD_CSS
from ..dashboard.app import Layout  # Solara's layout for this page: no app bar, no framework chrome
from . import state
from .board import CSS, Board
from .charts import charts
from .game import GameError
from .levers import GAME_LEVERS, TEAM_FIRMS, cost, firm_name, written
from .record import EVENTS
from .view import view

__all__ = ["Layout", "Page"]
WAKE_SECONDS = 1.0  # a session's watcher looks for a stop this often while the game is still


def _status(seen: dict, left: float | None) -> str:
    if seen["finished"]:
        return "The game is over: the market reached the end of the scenario."
    clock = "" if left is None else (" · time is up" if left == 0 else f" · {int(left) // 60}:{int(left) % 60:02d} left")
    paused = " · PAUSED by the teacher" if seen["paused"] else ""
    count = seen["weeks_this_round"]  # the last round may be shorter: the horizon ends first
    weeks = {13: "a quarter", 52: "a year", 1: "one week"}.get(count, f"{count} weeks")
    return f"Round {seen['round']}: decide for {weeks} from {seen['next_week']}{clock}{paused}"


@solara.component
def Status(seen: dict):
    """The round, the time left (ticking each second on a timer) and whether the game is paused."""
    game = state.GAME
    # A counter, not the time: use_reactive(x) follows x when x changes, so a value read at each
    # render would set itself and render again without end.
    seconds = solara.use_reactive(0)

    def tick(cancel) -> None:
        while game.time_left() is not None and not cancel.wait(1.0):
            seconds.set(seconds.value + 1)

    solara.use_thread(tick, dependencies=[seen["version"]], intrusive_cancel=False)
    solara.use_memo(lambda: None, dependencies=[seconds.value])  # read: each tick redraws this line
    solara.Div(children=[_status(seen, game.time_left())], classes=["classroom-status"])


@solara.component
def Lever(spec: dict, value, on_value):
    """A lever: its name and value (with the unit) on a line of their own, the slider under them."""
    solara.Div(children=[f"{spec['label']}: {written(spec['path'], value)}"], classes=["classroom-lever"])
    if spec["type"] == "SliderInt":
        solara.SliderInt("", value=int(value), min=spec["min"], max=spec["max"], step=spec["step"],
                         on_value=on_value, thumb_label=False)
    else:
        solara.SliderFloat("", value=float(value), min=spec["min"], max=spec["max"], step=spec["step"],
                           on_value=on_value, thumb_label=False)


@solara.component
def Join(on_joined):
    """The join form: team name, firm (unless the teacher named the teams), the join code."""
    game = state.GAME
    name, code, error = solara.use_reactive(""), solara.use_reactive(""), solara.use_reactive(None)
    firm = solara.use_reactive(TEAM_FIRMS[0])
    roster = dict(game.settings.roster)

    def join() -> None:
        try:
            joined = game.join(name.value, firm.value, code.value)
            on_joined(game.team_name(name.value), joined)
        except GameError as problem:
            error.value = str(problem)

    with solara.Div(style={"max-width": "420px", "margin": "24px auto"}):
        solara.Div(children=["retailsim classroom: join the game"], classes=["retailsim-title"])
        solara.InputText("Team name", value=name, continuous_update=True)
        if roster:
            solara.Div(children=[f"The teams: {', '.join(f'{t} ({firm_name(f)})' for t, f in roster.items())}"],
                       classes=["classroom-line"])
        else:
            names = {firm_name(f): f for f in TEAM_FIRMS}
            solara.Select("Firm your team runs", value=firm_name(firm.value), values=list(names),
                          on_value=lambda name: firm.set(names.get(name, name)))
        solara.InputText("Join code (from your teacher)", value=code, continuous_update=True)
        solara.Button("Join", color="primary", on_click=join)
        if error.value:
            solara.Error(error.value)


@solara.component
def TeamSide(team: str, seen: dict):
    """A team's levers, each with its cost, and the Submit button."""
    game, firm = state.GAME, seen["firm"]
    specs = game.specs[firm]
    draft = solara.use_reactive({})
    error = solara.use_reactive(None)

    def reset() -> None:  # a new round (or a rewind) starts from the firm's levers as they stand (or this team's submission)
        draft.set(seen["mine"] or game.current(firm))
        error.set(None)

    solara.use_effect(reset, [seen["round"], seen["rewinds"]])
    values = {**game.current(firm), **draft.value}

    def submit() -> None:
        try:
            game.submit(team, {path: values[path] for path in GAME_LEVERS[firm]})
            error.value = None
        except GameError as problem:
            error.value = str(problem)

    solara.Div(children=[f"Team {team} · {firm_name(firm)}"], classes=["retailsim-title"])
    Status(seen)
    with game.lock:
        costs = {path: cost(path, values[path], game.market.model) for path in specs}
    for path, spec in specs.items():
        Lever(spec, values[path], lambda value, path=path: draft.set({**draft.value, path: value}))
        solara.Div(children=[f"Cost: {costs[path]}"], classes=["classroom-cost"])
    with solara.Div(classes=["classroom-submit"]):  # kept in view at the foot of the window (levers scroll)
        solara.Button("Submit decisions", color="primary", on_click=submit,
                      disabled=seen["finished"] or seen["paused"] or game.time_left() == 0)
        if seen["mine"]:  # what the game holds for this team (submitted here, on another page, before a reload)
            solara.Success(f"Submitted for round {seen['round']}: " + ", ".join(
                f"{specs[path]['label']} {written(path, value)}" for path, value in seen["mine"].items()
                if path in specs) + ". You may change it until the market advances.")
        if error.value:
            solara.Error(error.value)
    solara.Div(children=["Teams sharing a firm: each lever is the median of their submissions this round; a lever "
                         "nobody submits stays as it is."], classes=["retailsim-note"])


@solara.component
def TeacherSide(seen: dict):
    """The teacher's controls: advance, pause, reveal, inject an event, rewind, export."""
    game = state.GAME
    error = solara.use_reactive(None)
    event = solara.use_reactive(next(iter(EVENTS.values()))[0])
    target = solara.use_reactive(str(seen["round"]))  # the least it can forget: this round's submissions
    confirming = solara.use_reactive(False)

    def start_over() -> None:  # a new round (or a rewind): the least a rewind can forget, and no question pending
        target.set(str(seen["round"]))
        confirming.set(False)

    solara.use_effect(start_over, [seen["round"], seen["rewinds"]])

    def act(action) -> None:
        try:
            action()
            error.value = None
        except GameError as problem:
            error.value = str(problem)

    solara.Div(children=["Teacher · join code"], classes=["retailsim-title"])
    solara.Div(children=[game.settings.join_code], classes=["classroom-code"])
    solara.Div(children=[state.STUDENTS.replace("classroom: ", "")], classes=["retailsim-note"])
    Status(seen)
    submitted = sum(1 for _, _, done in seen["teams"] if done)
    solara.Div(children=[f"Teams: {submitted} of {len(seen['teams'])} submitted: " + ", ".join(
        f"{name} ({firm_name(firm)}){' ✓' if done else ''}" for name, firm, done in seen["teams"])],
        classes=["classroom-line", "classroom-teams"])
    with solara.Row():
        solara.Button("Advance the market", color="primary", on_click=lambda: act(lambda: game.advance(seen["round"], seen["rewinds"])),
                      disabled=seen["finished"] or seen["paused"])
        solara.Button("Resume" if seen["paused"] else "Pause", on_click=lambda: act(lambda: game.pause(not seen["paused"])))
    solara.Button("Hide rivals' decisions" if seen["revealed"] else "Reveal rivals' decisions",
                  on_click=lambda: act(lambda: game.reveal(not seen["revealed"])))
    labels = {label: key for key, (label, *_rest) in EVENTS.items()}
    solara.Select("Event from the articles", value=event.value, values=list(labels), on_value=event.set)
    solara.Button("Inject at the next round", on_click=lambda: act(lambda: game.inject(labels[event.value])))
    if seen["queued"]:
        solara.Div(children=[f"Next round: {', '.join(seen['queued'])}"], classes=["classroom-line"])
    with solara.Row():
        solara.Select("Rewind to round", value=target.value, values=[str(r) for r in range(1, seen["round"] + 1)],
                      on_value=lambda value: (target.set(value), confirming.set(False)))
        solara.Button("Rewind…", on_click=lambda: confirming.set(True))
    if confirming.value:
        solara.Warning(rewind_warning(int(target.value), seen["round"]))
        with solara.Row():
            solara.Button("Rewind now", color="error", on_click=lambda: act(lambda: game.rewind(target.value)))
            solara.Button("Cancel", on_click=lambda: confirming.set(False))
    if seen["teams"]:
        RemoveTeam([name for name, _, _ in seen["teams"]], act)
    with solara.Column(gap="4px"):
        solara.FileDownload(lambda: game.export()[0].encode(), filename="classroom_decisions.csv",
                            label="Decisions (CSV)")
        solara.FileDownload(lambda: game.export()[1].encode(), filename="classroom_results.csv",
                            label="Results (CSV)")
    if error.value:
        solara.Error(error.value)


@solara.component
def RemoveTeam(names: list[str], act):
    """The teacher's choice of a team to take out of the game, and the button that does it."""
    leaving = solara.use_reactive("")
    with solara.Row():
        solara.Select("Remove a team", value=leaving.value if leaving.value in names else None, values=names,
                      on_value=leaving.set)
        solara.Button("Remove", disabled=leaving.value not in names,
                      on_click=lambda: act(lambda: (state.GAME.remove(leaving.value), leaving.set(""))))


def rewind_warning(target: int, current: int) -> str:
    """What a rewind to round ``target`` forgets, said before it is done."""
    if target >= current:
        return f"Rewind to round {current}: every team's submission for it is cleared (the rounds played are kept)."
    played = f"round {target} is" if target == current - 1 else f"rounds {target} to {current - 1} are"
    return (f"Rewind to round {target}: {played} forgotten (results too) and every submission is cleared; the teams "
            f"decide round {target} again.")


@solara.component
def Page():
    """One browser session: the teacher (the address carries the teacher's key), a team once it has
    joined, or the join form."""
    game = state.GAME
    router = solara.use_router()
    key = parse_qs(router.search or "").get("teacher", [None])[0]
    teacher = state.is_teacher(key)
    me = solara.use_reactive(None)  # this session's team, once joined
    version = solara.use_reactive(0)  # the game's version this session has seen (set by ``watch``)
    widths = solara.use_reactive([])

    def watch(cancel) -> None:  # redraw when the game changes (any session's action)
        seen = game.version
        while not cancel.is_set():
            seen = game.wait(seen, WAKE_SECONDS)
            version.set(seen)

    solara.use_thread(watch, dependencies=[], intrusive_cancel=False)
    solara.Style(DASHBOARD_CSS + CSS)
    solara.Title("retailsim classroom")
    solara.use_memo(lambda: None, dependencies=[version.value])  # read, so that a new version redraws this session
    if not teacher and (me.value is None or me.value not in game.teams):  # not joined, or removed by the teacher
        if me.value is not None:
            solara.Div(children=[f"Your teacher removed team {me.value} from the game: join again to play on."],
                       classes=["classroom-line"], style={"text-align": "center", "margin-top": "16px"})
        Join(lambda name, firm: me.set(name))
        return
    seen = view(game, None if teacher else me.value)
    with game.lock:
        figures = charts(game.market, seen, game.before_start)
    with solara.Div(classes=["retailsim-page"]):
        with solara.Div(classes=["retailsim-side"]):
            if teacher:
                TeacherSide(seen)
            else:
                TeamSide(me.value, seen)
        with solara.Div(classes=["retailsim-main"]):
            Board(seen, figures, widths)
