"""Named refusals of domain rules: plain Python, no wire and no framework.

A domain module raises a subclass of one of these (`LetterAlreadySigned(WrongState)`); the
unit of work (services/common/service.py) turns it into the wire error of its kind, in one table.
"""
from __future__ import annotations


class RuleError(Exception):
    """A rule refused; `field` names the input it is about, `fields` may say more per field."""

    field: str | None = None

    def __init__(self, message: str, field: str | None = None,
                 fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        self._fields = fields
        self.within: str | None = None

    @property
    def fields(self) -> dict:
        if self._fields is not None:
            fields = self._fields
        else:
            fields = {self.field: [self.message]} if self.field else {}
        return {self.within: fields} if self.within else fields

    def nested(self, within: str) -> RuleError:
        """The same refusal about a nested object's field ({"child": {"sex": [...]}})."""
        self.within = within
        return self

    def __str__(self) -> str:
        return self.message


class InvalidValue(RuleError):
    """The input breaks a rule of form or meaning (HTTP 400)."""


class NotPermitted(RuleError):
    """The caller's role may not do this (HTTP 403)."""


class WrongState(RuleError):
    """The thing is not in a state that allows this (HTTP 409)."""


class Refused(RuleError):
    """Well-formed, allowed, but the rules refuse it now (HTTP 422)."""


class LoginRefused(RuleError):
    """Wrong credentials (HTTP 401). The attempt itself is kept: counters outlive refusals."""

    keeps_changes = True


class LoginLocked(RuleError):
    """Too many failures (HTTP 429); the lock is kept."""

    keeps_changes = True
