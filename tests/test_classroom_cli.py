"""``retailsim classroom``: every option is checked before anything starts; a bad one is one line and
exit code 2."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv, expected", [
    (("--start", "2020-01"), "--start: the game can start from 2021-04-05 to 2030-09-30 (a round after the "
                             "scenario's start, a round before its end), got 2020-01-01"),
    (("--start", "soon"), "--start: expected a date, YYYY-MM-DD or YYYY-MM, got 'soon'"),
    (("--teams", "Red=amazon,Blue=target"), "--teams: expected NAME=FIRM,... with FIRM one of amazon, walmart, "
                                            "kroger and NAME 1-24 letters, digits, spaces, '-' or '_', got "
                                            "'Blue=target'"),
    (("--teams", "Red=amazon,Red=kroger"), "--teams: team Red is named twice (names are the same whatever their capitals)"),
    (("--teams", "Red=amazon,red=kroger"), "--teams: team red is named twice (names are the same whatever their capitals)"),
    (("--teams", "A=amazon,B=walmart", "--max-teams", "1"), "--teams names 2 teams, more than --max-teams 1"),
    (("--teams", "A=amazon,B=amazon,C=walmart", "--teams-per-firm", "1"),
     "--teams puts 2 teams on amazon, more than --teams-per-firm 1"),
    (("--max-teams", "100000"), "--max-teams: expected 1 to 30 (each team's page is a live session of this server), "
                                "got 100000"),
    (("--join-code", "no!"), "--join-code: expected 4 to 12 letters or digits"),
    (("--minutes", "-1"), "--minutes: expected 0 (no timer) to 180, got -1"),
    (("--host", "classroom.example.org"), "--host: expected an IP address of this machine such as 127.0.0.1 or "
                                          "0.0.0.0 (names are not looked up), got 'classroom.example.org'"),
    (("--access-code", "short"), "--access-code: expected 8 to 64 letters, digits, '-' or '_'"),
    (("--round", "month"), "classroom: argument --round: invalid choice: 'month' (choose from 'quarter', 'year'); "
                           "see 'retailsim classroom --help'"),
])
def test_bad_options_are_one_line_and_exit_2_before_anything_starts(capsys, argv, expected) -> None:
    from sim.cli import main

    assert main(["classroom", "--port", "8765", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"retailsim: error: {expected}\n"
