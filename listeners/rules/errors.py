"""The one error type of the rule language: what went wrong and at which column of the rule."""

from __future__ import annotations


class RuleError(ValueError):
    """A rule (or rule file) is broken. `column` is 1-based, counted in characters of the rule as written.

    `where` names the rule inside a rule file (``brands[0].rules[2]``) so an admin can find it.
    """

    def __init__(self, message: str, column: int | None = None, where: str = "", hint: str = "") -> None:
        self.message = message
        self.column = column
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        at = f" at column {self.column}" if self.column is not None else ""
        prefix = f"{self.where}: " if self.where else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{prefix}{self.message}{at}{hint}"

    def located(self, where: str) -> RuleError:
        """The same error, told where in a rule file it happened."""
        return RuleError(self.message, self.column, where, self.hint)
