# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every parser of tool output shares: its error type and the elision marks of pasted samples."""

from __future__ import annotations

ELISIONS = frozenset(['...', '\u2026'])


class ParseError(ValueError):
    """Output that does not have the expected shape.

    ``line`` is the offending line (None when the problem is the output as a whole) and
    ``lineno`` its 1-based number.
    """

    def __init__(self, message, line=None, lineno=None):
        self.message = message
        self.line = line
        self.lineno = lineno
        if line is not None:
            if lineno is not None:
                message = '%s (line %d: %r)' % (message, lineno, line)
            else:
                message = '%s (line: %r)' % (message, line)
        super(ParseError, self).__init__(message)


def is_elision(line):
    """True for a line that only holds ``...`` (an author's elision mark in a pasted sample)."""
    return line.strip() in ELISIONS
