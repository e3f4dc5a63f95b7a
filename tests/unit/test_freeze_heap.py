"""A served app keeps start-up's objects out of the collector's full passes; a test app,
one of many in a process, does not."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from webapp import create_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def settings(tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}",
        "EMBEDDED_WORKER": False,
        **extra,
    }


def test_a_served_app_freezes_what_start_up_made(tmp_path: Path, unfrozen: None) -> None:
    create_app(settings(tmp_path))
    assert gc.get_freeze_count() > 0


def test_a_testing_app_or_one_told_not_to_leaves_the_heap_alone(
    tmp_path: Path, unfrozen: None
) -> None:
    create_app(settings(tmp_path, TESTING=True))
    create_app(settings(tmp_path, FREEZE_HEAP=False))
    assert gc.get_freeze_count() == 0
