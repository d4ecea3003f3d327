"""Every hub setting is checked for range and form before it is kept; the refusal names the
setting, the value and what was expected, and the old value stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.errors import InputError, NotFound
from pilotline.hub.publish import rules
from pilotline.hub.store import SETTINGS, HubStore

BAD = [
    ("min_firms", "1", "a whole number of firms, 2 to 1000"),
    ("min_firms", "2.5", "a whole number of firms"),
    ("min_firms", "1001", "2 to 1000"),
    ("min_firms", "-3", "2 to 1000"),
    ("nk", "2;85", "N,K"),
    ("nk", "0,85", "N a whole number 1 to 100"),
    ("nk", "2,0", "K a percentage above 0 up to 100"),
    ("nk", "2,101", "up to 100"),
    ("nk", "2 , 85", "N,K"),
    ("nk", "2,1e-300", "N,K"),
    ("p", "-1", "a percentage from 1 to 100"),
    ("p", "0", "a percentage from 1 to 100"),  # 0 would turn the p % rule off
    ("p", "nan", "a percentage from 1 to 100"),
    ("p", "1_0", "a percentage"),
    ("p", "٣", "a percentage"),  # an Arabic-Indic digit
    ("p", "1e2", "a percentage"),
    ("protect_pct", "101", "a percentage from 1 to 100"),
    ("protect_pct", "0", "a percentage from 1 to 100"),  # 0 protects nothing
    ("smtp_port", "0", "a port number, 1 to 65535"),
    ("smtp_port", "65536", "a port number, 1 to 65535"),
    ("smtp_port", "25x", "a port number"),
    ("interest_per_hour", "0", "a whole number, 1 to 10000"),
    ("interest_per_hour", "1.5", "a whole number"),
    ("interest_expiry_days", "0", "a number of days, 1 to 90"),
    ("interest_expiry_days", "91", "1 to 90"),
    ("public_url", "hub.example.org", "an http:// or https:// address"),
    ("public_url", "ftp://hub.example.org", "an http:// or https:// address"),
    ("public_url", "https://", "with a host"),
    ("public_url", 'http://h.example/"><script>', "no spaces, quotes or angle brackets"),
    ("mail_from", "hub at campaign", "an e-mail address"),
    ("mail_from", "a@b@c.example", "an e-mail address"),
    ("smtp_host", "mail server", "a host name or IP address"),
    ("smtp_host", "[::1", "a host name or IP address"),
    ("smtp_host", "::1]", "a host name or IP address"),
    ("smtp_host", "1.2.3.4.5.6", "a host name or IP address"),
    ("campaign_name", "   ", "one line of 1 to 200 characters"),
    ("campaign_name", "two\nlines", "one line"),
    ("campaign_name", "bell\x01", "without control characters"),
    ("consent_text", "nul\x00", "without control characters"),
    ("consent_version", "x" * 41, "1 to 40 characters"),
    ("consent_text", "", "a text of 1 to 10000 characters"),
    ("dp_epsilon", "-0.5", "0 (off), or a number from 0.01 up to 100"),
    ("dp_epsilon", "101", "up to 100"),
    ("dp_epsilon", "inf", "a number from 0.01"),
    ("dp_epsilon", "1e-300", "a number from 0.01 up to 100"),
    ("dp_epsilon", "0.001", "a number from 0.01 up to 100"),
    ("reminder_hours", "337", "0 (off), or a whole number of hours, 1 to 336"),
    ("reminder_hours", "2.5", "a whole number of hours"),
    ("dp_hours", "0", "a number of hours above 0"),
    ("dp_parts", "-3", "a number of parts above 0"),
    ("dp_kwh", "lots", "a number of kWh above 0"),
]

GOOD = [
    ("min_firms", "5"),
    ("nk", "3,90.5"),
    ("p", "12.5"),
    ("protect_pct", "1"),
    ("smtp_port", "587"),
    ("interest_per_hour", "10"),
    ("interest_expiry_days", "1.5"),
    ("public_url", "https://hub.example.org:8443/campaign"),
    ("mail_from", "hub@campaign.example"),
    ("smtp_host", "smtp.campaign.example"),
    ("smtp_host", "::1"),
    ("campaign_name", "North: small steps"),
    ("consent_version", "2026-12"),
    ("consent_text", "Purpose: …\nRetention: …"),
    ("dp_epsilon", "0.5"),
    ("reminder_hours", "48"),
    ("dp_hours", "2000"),
    ("dp_parts", "50000"),
    ("dp_kwh", "10000"),
]

#: Plain numbers kept in one form, a bracketed IPv6 address without its brackets.
NORMALISED = [
    ("min_firms", "000000002", "2"),
    ("nk", "02,85.50", "2,85.5"),
    ("p", "12.50", "12.5"),
    ("protect_pct", "10.0", "10"),
    ("smtp_host", "[::1]", "::1"),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> HubStore:
    return HubStore.init(tmp_path_factory.mktemp("settings"))


@pytest.mark.parametrize(("name", "value", "expected"), BAD)
def test_a_bad_value_is_refused_naming_setting_value_and_expectation(
    hub: HubStore, name: str, value: str, expected: str
) -> None:
    before = hub.setting(name)
    with pytest.raises(InputError) as caught:
        hub.set_setting(name, value)
    assert str(caught.value).startswith(f"hub setting {name} = {value!r}: expected ")
    assert expected in str(caught.value)
    assert hub.setting(name) == before


def test_every_setting_is_checked_and_good_values_are_kept(hub: HubStore) -> None:
    assert {n for n, _v, _e in BAD} == set(SETTINGS)  # no setting goes unchecked
    assert {n for n, _v in GOOD} == set(SETTINGS)
    for name, setting in SETTINGS.items():
        assert setting.ok(setting.default), name  # the defaults pass their own check
    for name, value in GOOD:
        hub.set_setting(name, value)
        assert hub.setting(name) == value
    r = rules(hub)
    assert (r.min_firms, r.n, r.k, r.p, r.protect_pct) == (5, 3, 90.5, 12.5, 1.0)
    for name, value, kept in NORMALISED:
        hub.set_setting(name, value)
        assert hub.setting(name) == kept
    with pytest.raises(NotFound, match="no hub setting 'colour'"):
        hub.set_setting("colour", "blue")


def test_the_command_says_what_was_expected(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["hub", "init", "--dir", str(tmp_path)]).exit_code == 0
    r = runner.invoke(app, ["hub", "setting", "smtp_port", "70000", "--dir", str(tmp_path)])
    assert isinstance(r.exception, InputError)
    assert str(r.exception) == "hub setting smtp_port = '70000': expected a port number, 1 to 65535"
    ok = runner.invoke(app, ["hub", "setting", "smtp_port", "2525", "--dir", str(tmp_path)])
    assert ok.exit_code == 0 and "smtp_port = 2525  (its port)" in ok.output
    # a value starting with '-' reaches the check (not Click's "No such option")
    r = runner.invoke(app, ["hub", "setting", "min_firms", "-3", "--dir", str(tmp_path)])
    assert isinstance(r.exception, InputError)
    assert "min_firms = '-3': expected a whole number of firms, 2 to 1000" in str(r.exception)
