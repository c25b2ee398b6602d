"""The command line: the parser, CommandError, and one module per command."""

from kapmonitor.cli.errors import CommandError
from kapmonitor.cli.parser import main

__all__ = ["CommandError", "main"]
