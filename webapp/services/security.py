"""Security use cases: ending a person's sessions."""

from sqlalchemy import update

from webapp.extensions import db
from webapp.models import User
from webapp.persistence.transaction import transactional


@transactional
def end_sessions(user_id: int) -> None:
    """Every session of this person ends, on every device: the epoch their sessions carry
    is no longer theirs (webapp/security/sessions.py)."""
    db.session.execute(
        update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1)
    )
