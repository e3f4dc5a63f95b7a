"""The password policy, one rule for every password a person chooses (an invitation, a
firm's first admin, a change on /account, the create-user command): at least 12
characters, not the email address or the part before its @, and not a common or breached
password. The list of common passwords is zxcvbn's (30,000 of the most frequent in
published breaches, shipped inside the package, so nothing is looked up online); zxcvbn
also catches a common password dressed up ("Password1234!") by estimating how many
guesses it takes."""

from functools import lru_cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from webapp.engine.errors import Unprocessable

MIN_LENGTH = 12
# zxcvbn's scores run 0-4; 3 is "safely unguessable: moderate protection from an offline
# slow-hash scenario" (at least 10^8 guesses).
MIN_SCORE = 3
LONGEST_CHECKED = 200  # zxcvbn's time grows with the length; past this, length is enough


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """What is wrong with a password, in plain words; empty when it is good."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters (this one has {len(password)})."]
    local = email.split("@")[0].strip().lower()
    lowered = password.lower()
    if email and (email.strip().lower() in lowered or (len(local) >= 3 and local in lowered)):
        return ["Don't use your email address, or the part before the @, in your password."]
    if lowered in common_passwords():
        return ["This is one of the most common passwords. Choose something less predictable."]
    if len(password) <= LONGEST_CHECKED:
        result = zxcvbn(password, user_inputs=[w for w in (email, local, name) if w])
        if result["score"] < MIN_SCORE:
            warning = result["feedback"]["warning"] or "It follows a pattern that is easy to guess."
            return [
                f"This password is too easy to guess. {warning} "
                "A few unrelated words together make a strong one."
            ]
    return []


def check_password(password: str, email: str = "", name: str = "", field: str = "password") -> None:
    """Unprocessable (422) naming the field when the password breaks the policy."""
    problems = password_problems(password, email, name)
    if problems:
        raise Unprocessable(problems[0], [{"field": field, "message": problems[0]}])
