from enum import StrEnum


class Role(StrEnum):
    ADMIN = "ADMIN"
    LAWYER = "LAWYER"
    PARALEGAL = "PARALEGAL"
    CLIENT = "CLIENT"


# A member's role on a matter is the person's own role.
MEMBER_ROLES = (Role.ADMIN, Role.LAWYER, Role.PARALEGAL, Role.CLIENT)
