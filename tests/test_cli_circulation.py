"""CLI for circulation set-up and diagnosis: terminals, policies, holidays, `serve`, `sip2`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import CLI

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    c = CLI(tmp_path)
    c("init")
    c("demo")
    return c


def test_policy_inherits_from_central(cli: CLI) -> None:
    cli("policy", "set", "CEN", "--loan-days", "28", "--fine-per-day", "0.1")
    cli("policy", "set", "XT", "--item-type", "periodical", "--loan-days", "7")
    shown = json.loads(cli("policy", "show", "XT", "--item-type", "book", "--json").stdout)
    assert (shown["loan_days"], shown["origin"]["loan_days"]) == (28, "CEN/*")
    shown = json.loads(cli("policy", "show", "XT", "--item-type", "periodical", "--json").stdout)
    assert (shown["loan_days"], shown["fine_per_day_cents"]) == (7, 10)
    cli("policy", "set", "XT", "--item-type", "periodical", "--unset", "loan_days")
    assert json.loads(cli("policy", "show", "XT", "--item-type", "periodical", "--json").stdout)["loan_days"] == 28
    assert "no library with code NOPE" in cli("policy", "set", "NOPE", "--loan-days", "3", code=1).stderr
    cli("policy", "set", "XT", code=2)  # nothing to set
    cli("policy", "set", "XT", "--return-policy", "teleport", code=2)


def test_holidays(cli: CLI) -> None:
    cli("holiday", "add", "*", "2027-02-17", "--name", "春节")
    cli("holiday", "add", "XT", "2027-02-18")
    days = json.loads(cli("holiday", "list", "--json").stdout)
    assert {(d["library"], str(d["day"])) for d in days} == {("*", "2027-02-17"), ("XT", "2027-02-18")}
    cli("holiday", "remove", "XT", "2027-02-18")
    cli("holiday", "remove", "XT", "2027-02-18", code=1)


def test_holds_expire(cli: CLI) -> None:
    assert json.loads(cli("holds", "expire", "XT", "--json").stdout) == {"library": "XT", "expired": []}
    assert "no library with code NOPE" in cli("holds", "expire", "NOPE", code=1).stderr


def test_terminal_commands(cli: CLI) -> None:
    out = json.loads(cli("terminal", "add", "sc-xt-01", "--password", "secret99", "--library", "xt",
                         "--encoding", "gb18030", "--allow", "127.0.0.1/32", "--json").stdout)
    assert out == {"login": "sc-xt-01", "library": "XT", "allowed": ["127.0.0.1/32"], "encoding": "gb18030",
                   "terminator": "CR", "mobile": False, "status": "active"}
    assert "duplicate terminal login sc-xt-01" in cli("terminal", "add", "sc-xt-01", "--password", "secret99",
                                                      "--library", "XT", code=1).stderr
    cli("terminal", "add", "sc2", "--password", "secret99", "--library", "XT", "--allow", "nonsense", code=1)
    cli("terminal", "add", "sc2", "--password", "secret99", "--library", "XT", "--encoding", "ebcdic", code=2)
    cli("terminal", "remove", "sc-xt-01")
    assert json.loads(cli("terminal", "list", "--json").stdout)[0]["status"] == "disabled"


@pytest.fixture
def served(cli: CLI) -> Iterator[tuple[CLI, int]]:
    cli("terminal", "add", "sc-xt", "--password", "secret99", "--library", "XT")
    proc = subprocess.Popen([sys.executable, "-m", "ils_bridge", "serve", "--sip2", "127.0.0.1:0"], env=cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening: sip2 on 127.0.0.1:" in line, proc.stderr.read() if proc.stderr else line
    try:
        yield cli, int(line.rsplit(":", 1)[1])
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=10)
        assert "Traceback" not in err


def test_serve_and_the_sip2_client_command(served: tuple[CLI, int]) -> None:
    cli, port = served
    sc = ["--to", f"127.0.0.1:{port}", "--login", "sc-xt", "--password", "secret99"]
    status = json.loads(cli("sip2", "status", *sc, "--json").stdout)
    assert status["fixed"]["online_status"] == "Y" and status["fields"]["AO"] == ["XT"]
    out = json.loads(cli("sip2", "checkout", *sc, "P0000001", "C0000001", "--json").stdout)
    assert out["fixed"]["ok"] == "1" and out["fields"]["AJ"] == ["红楼梦"]
    back = json.loads(cli("sip2", "checkin", *sc, "C0000001", "--json").stdout)
    assert (back["fields"]["CV"], back["fields"]["CT"]) == (["04"], ["CEN"])
    text = cli("sip2", "item", *sc, "C0000001").stdout
    assert "circulation_status: 10" in text
    refused = cli("sip2", "status", "--to", f"127.0.0.1:{port}", "--login", "sc-xt", "--password", "wrong", code=1)
    assert "refused the login" in refused.stderr


def test_sip2_client_with_the_wrong_encoding_says_so(served: tuple[CLI, int]) -> None:
    """A GB18030 terminal asked in UTF-8: a polite error naming --encoding, not a traceback."""
    cli, port = served
    cli("terminal", "add", "sc-gb", "--password", "secret99", "--library", "XT", "--encoding", "gb18030")
    sc = ["--to", f"127.0.0.1:{port}", "--login", "sc-gb", "--password", "secret99"]
    wrong = cli("sip2", "checkout", *sc, "P0000001", "C0000001", code=1)
    assert "try --encoding" in wrong.stderr and "Traceback" not in wrong.stderr
    right = json.loads(cli("sip2", "item", *sc, "--encoding", "gb18030", "C0000001", "--json").stdout)
    assert right["fields"]["AJ"] == ["红楼梦"]


def test_serve_refuses_a_busy_port(served: tuple[CLI, int]) -> None:
    cli, port = served
    proc = cli("serve", "--sip2", f"127.0.0.1:{port}", code=1)
    assert f"cannot listen for SIP2 on 127.0.0.1:{port}" in proc.stderr


def test_sip2_client_reports_an_unreachable_server(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = CLI(tmp_path)("sip2", "status", "--to", f"127.0.0.1:{port}", code=1)
    assert "cannot reach a SIP2 server" in proc.stderr
