"""Both state machines against the rules as DESIGN.md and seed 000 write them. The expected
tables below are a second, independent transcription of those rules: the engine's tables
must agree with them on every (state, event) pair, legal or not."""

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from webapp.engine.errors import Invalid, InvalidTransition
from webapp.engine.states import (
    InstanceStatus,
    StepEvent,
    StepState,
    check_instance_transition,
    check_manual_transition,
    instance_path,
    next_step_state,
    step_events_from,
)

# ---- step machine -----------------------------------------------------------------------

STEP_RULES = {
    ("PENDING", "activate"): "READY",  # every prerequisite COMPLETED or SKIPPED
    ("PENDING", "bypass"): "SKIPPED",  # the step's condition is false
    ("PENDING", "fail"): "FAILED",  # its condition or templates cannot be evaluated
    ("READY", "claim"): "IN_PROGRESS",
    ("READY", "start"): "IN_PROGRESS",
    ("IN_PROGRESS", "complete"): "COMPLETED",
    ("IN_PROGRESS", "fail"): "FAILED",
    ("IN_PROGRESS", "block"): "BLOCKED",
    ("BLOCKED", "unblock"): "IN_PROGRESS",
    ("READY", "skip"): "SKIPPED",
    ("IN_PROGRESS", "skip"): "SKIPPED",
    ("FAILED", "retry"): "READY",  # an admin retries a failed step
}
STEP_PAIRS = list(itertools.product(StepState, StepEvent))
VALID_STEP_PAIRS = [p for p in STEP_PAIRS if (p[0].value, p[1].value) in STEP_RULES]
INVALID_STEP_PAIRS = [p for p in STEP_PAIRS if (p[0].value, p[1].value) not in STEP_RULES]


def pair_id(pair: tuple) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def test_step_tables_cover_every_pair_when_split_into_valid_and_invalid() -> None:
    assert len(STEP_PAIRS) == 70
    assert len(VALID_STEP_PAIRS) == len(STEP_RULES) == 12


@pytest.mark.parametrize("pair", VALID_STEP_PAIRS, ids=pair_id)
def test_step_moves_to_the_documented_state_when_the_event_is_allowed(pair: tuple) -> None:
    state, event = pair
    assert next_step_state(state, event) == StepState(STEP_RULES[(state.value, event.value)])


@pytest.mark.parametrize("pair", INVALID_STEP_PAIRS, ids=pair_id)
def test_step_refuses_with_a_message_naming_state_and_event_when_the_event_is_not_allowed(
    pair: tuple,
) -> None:
    state, event = pair
    with pytest.raises(InvalidTransition) as caught:
        next_step_state(state, event)
    assert state.value in caught.value.message
    assert event.value in caught.value.message
    assert caught.value.details == {"state": state.value, "event": event.value}


@pytest.mark.parametrize("state", list(StepState), ids=lambda s: s.value)
def test_step_offers_exactly_the_allowed_events_when_asked_from_a_state(state: StepState) -> None:
    expected = {event for (source, event) in STEP_RULES if source == state.value}
    assert {event.value for event in step_events_from(state)} == expected


def test_step_refuses_an_unknown_event_when_given_one() -> None:
    with pytest.raises(ValueError):
        next_step_state(StepState.READY, "approve")


# ---- instance machine -----------------------------------------------------------------------

INSTANCE_RULES = {
    "Created": {"Running", "Cancelled"},
    "Running": {
        "Paused",
        "WaitingForInput",
        "WaitingForApproval",
        "Completed",
        "Failed",
        "Cancelled",
    },
    "Paused": {"Running", "Cancelled"},
    "WaitingForInput": {"Running", "Cancelled"},
    "WaitingForApproval": {"Running", "Cancelled"},
    "Completed": set(),
    "Failed": set(),
    "Cancelled": set(),
}
STATUS_PAIRS = list(itertools.product(InstanceStatus, InstanceStatus))
VALID_STATUS_PAIRS = [p for p in STATUS_PAIRS if p[1].value in INSTANCE_RULES[p[0].value]]
INVALID_STATUS_PAIRS = [p for p in STATUS_PAIRS if p[1].value not in INSTANCE_RULES[p[0].value]]

# What a person may ask for through PATCH /instances/{id}: start, pause, resume, cancel.
MANUAL_RULES = {
    ("Created", "Running"),
    ("Created", "Cancelled"),
    ("Running", "Paused"),
    ("Running", "Cancelled"),
    ("WaitingForInput", "Paused"),
    ("WaitingForInput", "Cancelled"),
    ("WaitingForApproval", "Paused"),
    ("WaitingForApproval", "Cancelled"),
    ("Paused", "Running"),
    ("Paused", "Cancelled"),
}
# The statuses a person may ask for at all; the engine sets the others from the steps.
MANUAL_TARGETS = {"Running", "Paused", "Cancelled"}


def test_instance_tables_cover_every_pair_when_split_into_valid_and_invalid() -> None:
    assert len(STATUS_PAIRS) == 64
    assert len(VALID_STATUS_PAIRS) == 14


@pytest.mark.parametrize("pair", VALID_STATUS_PAIRS, ids=pair_id)
def test_instance_accepts_the_move_when_the_machine_allows_it(pair: tuple) -> None:
    current, target = pair
    check_instance_transition(current, target)
    assert instance_path(current, target) == [target]


@pytest.mark.parametrize("pair", INVALID_STATUS_PAIRS, ids=pair_id)
def test_instance_refuses_with_a_message_naming_both_statuses_when_the_move_is_not_allowed(
    pair: tuple,
) -> None:
    current, target = pair
    with pytest.raises(InvalidTransition) as caught:
        check_instance_transition(current, target)
    assert f"from {current.value} to {target.value}" in caught.value.message
    assert caught.value.details["from"] == current.value
    assert caught.value.details["to"] == target.value
    assert set(caught.value.details["allowed"]) == INSTANCE_RULES[current.value]


def test_instance_explains_a_final_status_when_moving_out_of_completed() -> None:
    with pytest.raises(InvalidTransition, match="Completed is a final status"):
        check_instance_transition("Completed", "Running")


def test_instance_refuses_created_to_completed_when_asked_as_in_seed_000() -> None:
    with pytest.raises(InvalidTransition, match="allowed next statuses are Cancelled, Running"):
        check_instance_transition("Created", "Completed")


def test_instance_path_goes_through_running_when_there_is_no_direct_edge() -> None:
    assert instance_path("WaitingForApproval", "WaitingForInput") == ["Running", "WaitingForInput"]
    assert instance_path("WaitingForInput", "Completed") == ["Running", "Completed"]
    assert instance_path("Running", "Running") == []
    with pytest.raises(InvalidTransition):
        instance_path("Completed", "Running")


@pytest.mark.parametrize("pair", STATUS_PAIRS, ids=pair_id)
def test_manual_status_change_is_allowed_only_for_start_pause_resume_cancel_when_asked(
    pair: tuple,
) -> None:
    current, target = pair
    if (current.value, target.value) in MANUAL_RULES:
        check_manual_transition(current, target)
        return
    # A status only the engine sets is never valid (Invalid: 400); any other refusal is a
    # conflict with the current status (InvalidTransition: 409).
    refusal = InvalidTransition if target.value in MANUAL_TARGETS else Invalid
    with pytest.raises((Invalid, InvalidTransition)) as caught:
        check_manual_transition(current, target)
    assert type(caught.value) is refusal
    assert target.value in caught.value.message


# ---- properties over random sequences ---------------------------------------------------------


class StepMachine(RuleBasedStateMachine):
    """Random event sequences: the step follows the rules, refusals change nothing, and
    a COMPLETED or SKIPPED step never moves again."""

    def __init__(self) -> None:
        super().__init__()
        self.state = StepState.PENDING
        self.was_started = False

    @rule(event=st.sampled_from(list(StepEvent)))
    def apply(self, event: StepEvent) -> None:
        before = self.state
        try:
            after = next_step_state(before, event)
        except InvalidTransition as error:
            assert (before.value, event.value) not in STEP_RULES
            assert before.value in error.message and event.value in error.message
            return
        assert after.value == STEP_RULES[(before.value, event.value)]
        if after == StepState.COMPLETED:
            assert before == StepState.IN_PROGRESS, "completed without being worked on"
        self.was_started |= after == StepState.IN_PROGRESS
        self.state = after

    @invariant()
    def completed_only_after_work(self) -> None:
        if self.state == StepState.COMPLETED:
            assert self.was_started

    @precondition(lambda self: self.state in (StepState.COMPLETED, StepState.SKIPPED))
    @rule(event=st.sampled_from(list(StepEvent)))
    def finished_steps_refuse_everything(self, event: StepEvent) -> None:
        with pytest.raises(InvalidTransition):
            next_step_state(self.state, event)


class InstanceMachine(RuleBasedStateMachine):
    """Random status requests: terminal statuses are final, Created is never re-entered,
    and a path the engine walks is made of allowed moves only."""

    def __init__(self) -> None:
        super().__init__()
        self.status = InstanceStatus.CREATED
        self.terminal = False

    @rule(wanted=st.sampled_from(list(InstanceStatus)))
    def move(self, wanted: InstanceStatus) -> None:
        try:
            check_instance_transition(self.status, wanted)
        except InvalidTransition:
            assert wanted.value not in INSTANCE_RULES[self.status.value]
            return
        assert not self.terminal, "moved out of a final status"
        assert wanted != InstanceStatus.CREATED
        if wanted in (InstanceStatus.COMPLETED, InstanceStatus.FAILED):
            assert self.status == InstanceStatus.RUNNING
        self.status = wanted
        self.terminal = not INSTANCE_RULES[wanted.value]

    @rule(wanted=st.sampled_from(list(InstanceStatus)))
    def walk(self, wanted: InstanceStatus) -> None:
        try:
            path = instance_path(self.status, wanted)
        except InvalidTransition:
            return
        current = self.status
        for status in path:
            check_instance_transition(current, status)
            current = status
        assert current == wanted or not path
        if path:
            self.status = wanted
            self.terminal = not INSTANCE_RULES[wanted.value]

    @rule(wanted=st.sampled_from(list(InstanceStatus)))
    def ask(self, wanted: InstanceStatus) -> None:
        try:
            check_manual_transition(self.status, wanted)
        except (InvalidTransition, Invalid) as error:
            assert (self.status.value, wanted.value) not in MANUAL_RULES
            assert isinstance(error, Invalid) == (wanted.value not in MANUAL_TARGETS)
            return
        assert (self.status.value, wanted.value) in MANUAL_RULES

    @invariant()
    def cancellable_unless_final(self) -> None:
        if not self.terminal:
            check_instance_transition(self.status, InstanceStatus.CANCELLED)


StepMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)
InstanceMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)
test_step_machine_holds_its_rules_when_driven_by_random_events = StepMachine.TestCase
test_instance_machine_holds_its_rules_when_driven_by_random_requests = InstanceMachine.TestCase
