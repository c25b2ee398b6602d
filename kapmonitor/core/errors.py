"""The one exception type whose message is meant for the person at the keyboard."""


class UserError(Exception):
    """A problem the user can fix (a bad setting, an unreachable database, a malformed file).

    Its message is one plain sentence; the command line prints it without a traceback and the UI shows it as is.
    """
