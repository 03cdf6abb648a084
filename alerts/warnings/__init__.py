"""Early warnings (预警): rules on enterprises, regions and industries, as data in a versioned
TOML file (``RISKMON_WARNINGS_PATH``; unset: the shipped ``alerts/warnings/default.toml``), and
the pure evaluation of each rule."""

from alerts.warnings.config import (
    AddressCluster,
    AreaRule,
    CdShare,
    ComplaintSurge,
    DSurge,
    EnterpriseRule,
    FirstD,
    NearBoundary,
    PenaltyCluster,
    WarningsConfig,
    WarningsError,
    load,
)

__all__ = [
    "AddressCluster",
    "AreaRule",
    "CdShare",
    "ComplaintSurge",
    "DSurge",
    "EnterpriseRule",
    "FirstD",
    "NearBoundary",
    "PenaltyCluster",
    "WarningsConfig",
    "WarningsError",
    "load",
]
