"""The moderator commands ``digest preview``, ``digest send`` and ``panel report``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli_digest import CHART_LIST
from bot.digest.weeks import Week
from tests.panel_week import MUNICIPALITY_EMAIL, simulate_week
from tests.test_outcomes import cli_env, database_args, run_main  # noqa: F401  (cli_env is a fixture)

DATA = Path(__file__).parent / "data"


def previous(week: Week) -> Week:
    return Week.containing(week.first_day - timedelta(days=7))


@pytest.fixture
def reference_env(cli_env):  # noqa: F811
    cli_env.setenv("CHATPANEL_REFERENCE_POPULATION", str(DATA / "reference-testdorp.csv"))
    cli_env.setenv("CHATPANEL_POSTCODE_AREAS", str(DATA / "postcodes-testdorp.csv"))
    cli_env.setenv("CHATPANEL_WEIGHTING", "age")
    cli_env.setenv("CHATPANEL_MIN_GROUP_SIZE", "3")
    return cli_env


async def test_preview_writes_html_charts_text_and_answers(db, database_url, reference_env, tmp_path, capsys):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    out = tmp_path / "week" / "digest.html"
    out.parent.mkdir()
    args = database_args(database_url, reference_env)
    code = await run_main(["digest", "preview", "gemeente-testdorp", "--week", str(simulated.week), "--out", str(out), *args])

    assert code == 0, capsys.readouterr().err
    html = out.read_text(encoding="utf-8")
    charts = sorted(path.name for path in (out.parent / "digest-charts").glob("*.png"))
    assert len(charts) >= 4
    for chart in charts:
        assert f'src="digest-charts/{chart}"' in html
        assert (out.parent / "digest-charts" / chart).read_bytes().startswith(b"\x89PNG")
    assert "Alle typen" in html
    assert "Alle typen" in out.with_suffix(".txt").read_text(encoding="utf-8")
    assert out.with_suffix(".csv").read_text(encoding="utf-8-sig").startswith("survey")
    assert f"week {simulated.week}" in capsys.readouterr().out


async def test_preview_replaces_only_its_charts(db, database_url, reference_env, tmp_path, capsys):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    out = tmp_path / "digest.html"
    command = ["digest", "preview", "gemeente-testdorp", "--week", str(simulated.week), "--out", str(out)]
    args = database_args(database_url, reference_env)
    assert await run_main([*command, *args]) == 0, capsys.readouterr().err
    charts = out.parent / "digest-charts"
    first = sorted(path.name for path in charts.glob("*.png"))
    # A chart an earlier preview wrote that this one does not, and a file of the user's.
    (charts / "old-survey-q1.png").write_bytes(b"old chart")
    with (charts / CHART_LIST).open("a", encoding="utf-8") as listed:
        listed.write("old-survey-q1.png\n")
    (charts / "holiday.png").write_bytes(b"not ours")

    assert await run_main([*command, *args]) == 0, capsys.readouterr().err

    assert sorted(path.name for path in charts.glob("*.png")) == sorted([*first, "holiday.png"])
    assert (charts / "holiday.png").read_bytes() == b"not ours"


async def test_preview_of_unknown_organisation_names_it(db, database_url, cli_env, tmp_path, capsys):  # noqa: F811
    args = database_args(database_url, cli_env)
    code = await run_main(["digest", "preview", "nope", "--week", "2026-W49", "--out", str(tmp_path / "d.html"), *args])
    assert code == 1
    assert "chatpanel: error: no organisation 'nope'; see: chatpanel org list" in capsys.readouterr().err
    assert not (tmp_path / "d.html").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--week", "2026-49"], "invalid week '2026-49': give an ISO week such as 2026-W49"),
        (["--week", "2025-W53"], "2025 has no week 53; give a week from 01 to 52"),
        (["--week", ""], "invalid week ''"),
        (["--out", "digest.txt"], "--out digest.txt must end in .html"),
        (["--out", "/nonexistent-folder/digest.html"], "the folder /nonexistent-folder does not exist"),
    ],
)
async def test_preview_rejects_bad_arguments(db, database_url, cli_env, capsys, extra, message):  # noqa: F811
    args = database_args(database_url, cli_env)
    code = await run_main(["digest", "preview", "gemeente", *extra, *args])
    assert code == 1
    assert message in capsys.readouterr().err


async def test_send_delivers_over_smtp(db, database_url, reference_env, smtp_server, capsys):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    server = smtp_server()
    reference_env.setenv("CHATPANEL_SMTP_URL", server.url())
    reference_env.setenv("CHATPANEL_SMTP_FROM", "panel@testdorp.example.nl")
    args = database_args(database_url, reference_env)
    # Only a week that is over can be sent, and the simulated week is this one.
    code = await run_main(["digest", "send", "gemeente-testdorp", "--week", str(previous(simulated.week)), *args])

    assert code == 0, capsys.readouterr().err
    [received] = server.messages
    assert received.rcpt_tos == [MUNICIPALITY_EMAIL]
    assert f"sent to {MUNICIPALITY_EMAIL}" in capsys.readouterr().out


async def test_send_without_mail_settings_names_them(db, database_url, cli_env, capsys):  # noqa: F811
    args = database_args(database_url, cli_env)
    code = await run_main(["digest", "send", "gemeente", *args])
    assert code == 2
    assert "setting CHATPANEL_SMTP_URL: missing" in capsys.readouterr().err


async def test_send_to_unreachable_server_fails_with_host(db, database_url, reference_env, closed_port, capsys):
    simulated = await simulate_week(db, residents=4, answering=3, min_group_size=3)
    reference_env.setenv("CHATPANEL_SMTP_URL", f"smtp://127.0.0.1:{closed_port}")
    reference_env.setenv("CHATPANEL_SMTP_FROM", "panel@testdorp.example.nl")
    args = database_args(database_url, reference_env)
    code = await run_main(["digest", "send", "wijkraad-noord", "--week", str(previous(simulated.week)), *args])
    assert code == 1
    assert f"127.0.0.1:{closed_port}" in capsys.readouterr().err


async def test_panel_report_prints_and_writes_the_table(db, database_url, reference_env, tmp_path, capsys):
    await simulate_week(db, residents=8, answering=6, min_group_size=3)
    out = tmp_path / "report.html"
    args = database_args(database_url, reference_env)
    code = await run_main(["panel", "report", "--out", str(out), *args])

    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "Noord" in printed
    assert "Zuid" in printed
    assert "16-24" in printed
    html = out.read_text(encoding="utf-8")
    assert "Noord" in html
    assert "<table" in html


async def test_panel_report_without_reference_explains(db, database_url, cli_env, capsys):  # noqa: F811
    args = database_args(database_url, cli_env)
    code = await run_main(["panel", "report", *args])
    assert code == 1
    assert "set CHATPANEL_REFERENCE_POPULATION" in capsys.readouterr().err


async def test_panel_report_with_broken_reference_names_file(db, database_url, cli_env, tmp_path, capsys):  # noqa: F811
    broken = tmp_path / "ref.csv"
    broken.write_text("area_code,characteristic,category,count\nGM1,age,16-24,many\n", encoding="utf-8")
    cli_env.setenv("CHATPANEL_REFERENCE_POPULATION", str(broken))
    args = database_args(database_url, cli_env)
    code = await run_main(["panel", "report", *args])
    assert code == 1
    assert "line 2, field 'count': invalid count 'many'" in capsys.readouterr().err


async def test_send_refuses_a_week_not_over(db, database_url, cli_env, capsys):  # noqa: F811
    cli_env.setenv("CHATPANEL_SMTP_URL", "smtp://127.0.0.1:25")
    cli_env.setenv("CHATPANEL_SMTP_FROM", "panel@example.nl")
    args = database_args(database_url, cli_env)
    code = await run_main(["digest", "send", "gemeente", "--week", "2099-W01", *args])
    assert code == 1
    assert "week 2099-W01 ends on Sunday 04 January 2099 and is not over yet" in capsys.readouterr().err
