"""Drift of an instance from its base version."""

from dataclasses import dataclass

from webapp.engine.errors import Conflict
from webapp.extensions import db
from webapp.models import User, WorkflowTemplate
from webapp.services.drift import DriftReport, drift_of
from webapp.web.reads.common import instance_and_access, instance_on_matter

# A drift badge the page fetches once it shows (comparing reads every step).
DRIFT_LATER = "later"


@dataclass
class DriftView:
    """Drift of an instance from its base version, with the titles a person reads."""

    report: DriftReport
    base_name: str
    titles: dict[str, str]  # step key -> title, now or (for removed steps) in the base

    @property
    def is_drifted(self) -> bool:
        return self.report.drift.is_drifted


def drift_view(user: User, matter_id: int, instance_id: int) -> DriftView:
    instance = instance_on_matter(user, matter_id, instance_id)
    report = drift_of(user, instance.id)
    base = db.session.get(WorkflowTemplate, report.base_workflow_id)
    titles = {s.key: s.title for s in base.steps} if base else {}
    titles.update({s.key: s.title for s in instance.steps})
    return DriftView(report, base.name if base else report.base_key, titles)


def drift_state(user: User, instance_id: int, matter_id: int | None = None) -> bool | None:
    """Drifted or not; None when the base version no longer exists to compare with.
    With `matter_id`, the instance must be that matter's."""
    if matter_id is not None:
        instance_and_access(user, matter_id, instance_id)
    try:
        return drift_of(user, instance_id).drift.is_drifted
    except Conflict:
        return None
