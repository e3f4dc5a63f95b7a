"""The builder's preview: stages as the engine would make steps ready, linear in the
steps however long the chain, with cycles and unknown prerequisites set apart."""

from types import SimpleNamespace

from webapp.web.reads.builder import PREVIEW_ITEMS, preview_layout


def step(order: int, key: str, depends_on: list[str] | None = None, on_failure: str | None = None):
    return SimpleNamespace(
        order=order,
        key=key,
        title=key.title(),
        role_scope="LAWYER",
        action_type="CHECKLIST",
        depends_on=depends_on,
        on_failure=on_failure,
        condition=None,
        required=True,
    )


def keys(stages) -> list[list[str]]:
    return [[item.key for item in stage] for stage in stages]


def test_stages_follow_prerequisites_when_steps_fan_out_and_join() -> None:
    steps = [
        step(1, "intake"),
        step(2, "conflicts", ["intake"]),
        step(3, "funds", ["intake"]),
        step(4, "engage", ["conflicts", "funds"]),
        step(5, "welcome"),  # after the previous step, the engine's default
        step(6, "anytime", []),
    ]
    preview = preview_layout(steps)
    assert keys(preview.stages) == [
        ["intake", "anytime"],
        ["conflicts", "funds"],
        ["engage"],
        ["welcome"],
    ]
    assert preview.stuck == []
    assert preview.stages[2][0].waits_on == ["Conflicts", "Funds"]


def test_a_cycle_and_an_unknown_key_never_become_ready() -> None:
    steps = [
        step(1, "a", []),
        step(2, "b", ["c"]),
        step(3, "c", ["b"]),
        step(4, "d", ["nowhere"]),
        step(5, "e", ["a"]),
    ]
    preview = preview_layout(steps)
    assert keys(preview.stages) == [["a"], ["e"]]
    assert [item.key for item in preview.stuck] == ["b", "c", "d"]


def test_a_failure_handler_waits_for_no_prerequisite() -> None:
    steps = [step(1, "call", on_failure="explain"), step(2, "explain")]
    assert keys(preview_layout(steps).stages) == [["call", "explain"]]


def test_a_chain_of_2000_steps_is_laid_out_one_stage_a_step_and_cut_for_the_page() -> None:
    steps = [step(n, f"s{n}") for n in range(1, 2001)]
    preview = preview_layout(steps)
    assert len(preview.stages) == 2000 and preview.stages[-1][0].key == "s2000"
    cut = preview.cut(whole=False)
    assert sum(map(len, cut.shown)) == PREVIEW_ITEMS
    assert cut.hidden_steps == 2000 - PREVIEW_ITEMS
    assert preview.cut(whole=True).hidden_steps == 0
