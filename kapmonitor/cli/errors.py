"""The one error a command raises for a bad command line or an unusable input."""

from __future__ import annotations

from kapmonitor.core.errors import UserError


class CommandError(UserError):
    """A bad command line or an unusable input: printed as one line, exit status 2."""
