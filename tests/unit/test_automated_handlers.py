"""Automated handlers on plain values: what they decide, before any worker runs them."""

from datetime import UTC, datetime, timedelta

import pytest

from webapp.engine.actions import get_handler
from webapp.engine.actions.automated import (
    ActionFailed,
    Call,
    Done,
    RunContext,
    Spawn,
    Wait,
    backoff_seconds,
)
from webapp.engine.actions.http import host_allowed, refused_address
from webapp.engine.actions.subworkflow import check_depth
from webapp.engine.definition import RetryPolicy
from webapp.engine.errors import Unprocessable

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def context(config, action_data=None):
    return RunContext(1, "s", config, action_data or {}, attempt=1, now=NOW)


def test_backoff_grows_exponentially_when_attempts_fail():
    policy = RetryPolicy(max_attempts=4, backoff_seconds=2, backoff_factor=3)
    assert [backoff_seconds(policy, n) for n in (1, 2, 3)] == [2, 6, 18]


def test_echo_passes_message_and_data_on_when_run():
    outcome = get_handler("core.echo").run(context({"message": "hi", "data": {"n": 1}}))
    assert outcome == Done({"message": "hi", "data": {"n": 1}})


def test_delay_waits_until_the_duration_has_passed_when_first_visited():
    handler = get_handler("core.delay")
    outcome = handler.run(context({"duration": "P3D"}))
    assert isinstance(outcome, Wait)
    assert outcome.until == NOW + timedelta(days=3)
    assert outcome.action_data == {"until": (NOW + timedelta(days=3)).isoformat()}
    again = handler.run(context({"duration": "P3D"}, outcome.action_data))
    assert isinstance(again, Wait)
    later = RunContext(1, "s", {"duration": "P3D"}, outcome.action_data, 1, NOW + timedelta(days=3))
    assert handler.run(later) == Done({"waitedUntil": outcome.action_data["until"]})


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"duration": "P1D", "until": "2026-01-01T00:00:00Z"},
        {"duration": "soon"},
        {"until": "2026-01-01T00:00"},
    ],
)
def test_delay_config_is_refused_when_not_exactly_one_valid_moment(config):
    with pytest.raises(Unprocessable):
        get_handler("core.delay").validate_config(config)


def test_delay_config_accepts_a_template_when_the_moment_comes_from_context():
    config = get_handler("core.delay").validate_config({"until": "{{ context.hearing }}"})
    assert config == {"until": "{{ context.hearing }}"}


def test_http_asks_the_worker_to_call_when_run():
    config = get_handler("core.http").validate_config({"url": "https://courts.example/api"})
    assert get_handler("core.http").run(context(config)) == Call("http", config)
    assert config["method"] == "GET" and config["timeout"] == 10


@pytest.mark.parametrize(
    ("status", "retryable"), [(503, True), (429, True), (404, False), (400, False)]
)
def test_http_failure_says_whether_to_retry_when_the_server_answers_an_error(status, retryable):
    with pytest.raises(ActionFailed) as failure:
        get_handler("core.http").finish(context({"url": "https://x.example"}), {"status": status})
    assert failure.value.retryable is retryable


@pytest.mark.parametrize("url", ["ftp://x.example/", "x.example", "http://", "javascript:alert(1)"])
def test_http_config_is_refused_when_the_url_is_not_http(url):
    with pytest.raises(Unprocessable):
        get_handler("core.http").validate_config({"url": url})


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.0.0.5", True),
        ("172.31.255.1", True),
        ("192.168.0.10", True),
        ("169.254.169.254", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("0.0.0.0", True),
        ("100.64.1.1", True),
        ("::ffff:10.0.0.1", True),
        ("224.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_address_is_refused_when_it_is_not_public(address, refused):
    assert (refused_address(address) is not None) is refused


def test_host_must_be_listed_when_an_allow_list_is_set():
    allowed = ["courts.example", "*.filing.example"]
    assert host_allowed("anything.example", [])
    assert host_allowed("Courts.Example", allowed)
    assert host_allowed("eu.filing.example", allowed)
    assert not host_allowed("filing.example.evil", allowed)
    assert not host_allowed("evilcourts.example", allowed)


def test_email_config_is_refused_when_an_address_is_invalid():
    with pytest.raises(Unprocessable):
        get_handler("core.email").validate_config({"to": ["not-an-address"], "subject": "Hi"})
    ok = get_handler("core.email").validate_config({"to": ["{{ context.email }}"], "subject": "Hi"})
    assert ok["to"] == ["{{ context.email }}"]


def test_subworkflow_spawns_the_child_template_when_run():
    config = {"templateKey": "kyc", "parameters": {"name": "Ann"}}
    assert get_handler("core.subworkflow").run(context(config)) == Spawn(
        "kyc", None, {"name": "Ann"}
    )


def test_nesting_beyond_the_limit_fails_with_a_clear_message_when_checked():
    check_depth(3, 3, "kyc")
    with pytest.raises(ActionFailed, match="nested 4 levels deep and SUBWORKFLOW_MAX_DEPTH is 3"):
        check_depth(4, 3, "kyc")
