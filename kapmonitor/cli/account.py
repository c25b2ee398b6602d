"""Who runs a command: the operating-system account the audit trail names for a command-line change."""

from __future__ import annotations

import getpass


def os_account() -> str:
    """The operating-system account running the command ("" when the system cannot name it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
