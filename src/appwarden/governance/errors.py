"""Errors of the governance service, each with a stable code the API and CLI report.

They extend :mod:`appwarden.errors` without changing it: the API maps ``code`` to an
HTTP status and the CLI maps ``exit_code`` to the process exit status.
"""

from __future__ import annotations

from appwarden.errors import AppwardenError


class GovernanceError(AppwardenError):
    code = "governance_error"
    exit_code = 1


class InvalidTransition(GovernanceError):
    """A case was asked to move to a state its current state does not lead to."""

    code = "invalid_transition"


class ConcurrentModification(GovernanceError):
    """Someone else changed the record first; re-read it and decide again."""

    code = "conflict"


class NotFound(GovernanceError):
    code = "not_found"


class AlreadyExists(GovernanceError):
    code = "already_exists"


class InvalidInput(GovernanceError):
    """A value the caller sent is wrong (bad credit code, unknown store, bad date...)."""

    code = "invalid_input"
    exit_code = 2


class AuthenticationRequired(GovernanceError):
    code = "unauthenticated"
    exit_code = 2


class PermissionDenied(GovernanceError):
    code = "forbidden"
    exit_code = 2


class PayloadTooLarge(GovernanceError):
    code = "payload_too_large"
    exit_code = 2


class AuditChainBroken(GovernanceError):
    """The audit log's hash chain does not verify: an entry was edited, deleted or reordered."""

    code = "audit_chain_broken"
    exit_code = 5
