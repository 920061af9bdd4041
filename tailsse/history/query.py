"""What a search looks for: a literal or a regular expression, matched line by line.

Regular expressions run on RE2 (the ``google-re2`` package), whose matching time is
linear in the text searched, whatever the pattern: a request cannot take the server
hostage with catastrophic backtracking. A pattern never matches across a line end
(``never_nl``), and ``^``/``$`` mean the start and end of a line. A literal is an RE2
pattern too, compiled in literal mode: RE2 finds it (case-folded or not) faster than a
byte-wise search, and reads the buffer in place.
"""

from __future__ import annotations

import re2  # type: ignore[import-untyped]

_ANCHOR = re2._re2.RE2.Anchor.UNANCHORED
MAX_QUERY = 1000  # characters


class QueryError(ValueError):
    """A query that cannot be run, with a message for the user."""


class Query:
    """A compiled search: ``find`` gives where the next match starts in a buffer."""

    def __init__(self, text: str, regex: bool = False, case: bool = False) -> None:
        if not text:
            raise QueryError("q must not be empty")
        if len(text) > MAX_QUERY:
            raise QueryError(f"q is longer than {MAX_QUERY} characters")
        self.text, self.regex, self.case = text, regex, case
        options = re2.Options()
        options.never_capture = True
        options.never_nl = True
        options.case_sensitive = case
        options.literal = not regex
        options.log_errors = False
        try:
            compiled = re2.compile(("(?m)" if regex else "") + text, options)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            reason = str(reason).replace("(?m)", "", 1)
            raise QueryError(f"not a valid regular expression: {reason}") from None
        self._match = compiled._regexp.Match

    def find(self, buf: bytes | memoryview, start: int, end: int) -> int:
        """Where the first match at or after ``start`` begins (before ``end``), or -1."""
        return int(self._match(_ANCHOR, buf, start, end)[0][0])
