"""Error types a user can act on.

Every refusal of input names the problem in words a lab engineer understands
("entry count 70000 exceeds the limit of 65535"), carries a stable machine code,
and maps to a CLI exit code. Nothing below raises a bare ValueError at the user.
"""

from __future__ import annotations


class AppwardenError(Exception):
    """Base of every error appwarden raises on purpose."""

    #: Stable, documented code for scripts and the API error format.
    code: str = "appwarden_error"
    #: Process exit code used by the CLI when this error stops a command.
    exit_code: int = 1

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message if not self.detail else f"{self.message} ({self.detail})"


class UnreadableInputError(AppwardenError):
    """The input is not what it claims to be (not a ZIP, empty, truncated)."""

    code = "unreadable_input"
    exit_code = 3


class HostileApkError(UnreadableInputError):
    """The APK uses a trick against parsers (bomb, overlap, traversal...) and is refused."""

    code = "hostile_apk"
    exit_code = 4


class LimitExceededError(HostileApkError):
    """A configured resource limit (size, count, ratio, time) would be exceeded."""

    code = "limit_exceeded"


class ScanTimeoutError(LimitExceededError):
    """One APK took longer than the configured per-APK time limit and was abandoned."""

    code = "scan_timeout"


class MalformedStructureError(UnreadableInputError):
    """A structure inside the APK (AXML, ARSC, DEX, signing block) is corrupt."""

    code = "malformed_structure"


class PolicyDocumentError(AppwardenError):
    """A privacy-policy document cannot be read or decoded."""

    code = "policy_document"
    exit_code = 3


class ConfigurationError(AppwardenError):
    code = "configuration"
    exit_code = 2
