"""Domain errors. The CLI turns each into one clear line and exit status 1."""

from __future__ import annotations


class HubError(Exception):
    """A refusal the user can act on (never a bug)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(HubError):
    pass


class Conflict(HubError):
    pass


class InvalidInput(HubError):
    pass


class DuplicateCode(Conflict):
    """A code that is already held (or was once held: codes are never reused)."""

    def __init__(self, kind: str, value: str, holder: str) -> None:
        super().__init__(f"duplicate {kind} {value}: {holder}")
        self.kind = kind
        self.value = value
        self.holder = holder
