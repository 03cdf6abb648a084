"""Security: who may do what (roles), who someone is (riskmon tokens, OIDC identities), and a
record of what they did (the audit log).

The pure rules are here; ``security/store`` keeps tokens in Redis, ``security/oidc.py`` reads an
issuer's keys. The API (``api/guard.py``) puts authentication in front of every route.
"""

from security.authn import Authenticate, Authenticator, bearer
from security.exceptions import AuditError, ConfigError, SecurityError, TokenError, UnavailableError
from security.roles import ROLE_NAMES, Principal, Role, parse_role

__all__ = [
    "ROLE_NAMES",
    "AuditError",
    "Authenticate",
    "Authenticator",
    "ConfigError",
    "Principal",
    "Role",
    "SecurityError",
    "TokenError",
    "UnavailableError",
    "bearer",
    "parse_role",
]
