"""The email of a resent client link (`mail.client_link` jobs): signed when it is sent, so
no usable link is ever stored. Apart from services/client_links.py, which the READY email
(services/notifications.py) uses: the two would import each other."""

from email.message import EmailMessage

from webapp.extensions import db
from webapp.models import ClientLink
from webapp.persistence.transaction import transactional
from webapp.services import outbox
from webapp.services.client_link_issue import link_email
from webapp.services.notifications import send_and_settle


def run_link_job(job: outbox.Claimed, worker_id: str) -> None:
    message = _link_message(job.id, worker_id)
    send_and_settle(job.id, worker_id, None if message is None else [message])


@transactional
def _link_message(job_id: int, worker_id: str) -> EmailMessage | None:
    db.session.expire_all()
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return None
    job.attempts += 1
    link = db.session.get(ClientLink, job.payload.get("linkId", 0))
    if link is None or link.used_at or link.revoked_at:
        outbox.mark_done(job, "The link was used or withdrawn before it was sent.")
        return None
    return link_email(link)
