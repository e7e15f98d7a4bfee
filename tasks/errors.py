"""Errors meant for a person: one line that says what is wrong and what to do."""


class CadenceError(Exception):
    """A failure the user can act on; the CLI prints its message alone, with no traceback."""
