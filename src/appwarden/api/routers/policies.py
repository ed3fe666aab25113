"""Privacy-policy self-check: a policy judged by itself, before any APK is submitted.

A developer (or a lab, a store's reviewer, the regulator) uploads the policy document
and gets back what appwarden read in it (outline, each sentence's disclosure types,
facts) and the findings the document earns on its own: missing disclosures, sensitive
PI without a separate notice, minors, third parties without purpose or PI. Comparing
the policy with the app's code needs the APK: ``POST /scans`` with both files.

Nothing is stored: the analysis is fast (well under a second for a long policy) and
deterministic, so it is answered in the request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, UploadFile
from starlette.concurrency import run_in_threadpool

from appwarden.api.auth import Principal, allow
from appwarden.governance.errors import InvalidInput, PayloadTooLarge
from appwarden.governance.models import Role
from appwarden.pipeline import MAX_POLICY_BYTES

router = APIRouter()

_CHUNK = 1 << 16


async def _read_bounded(upload: UploadFile, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"the policy document exceeds the limit of {limit} bytes", detail="supply the policy text only"
            )
        parts.append(chunk)
    if size == 0:
        raise InvalidInput("the uploaded policy document is empty")
    return b"".join(parts)


def _judge(data: bytes, filename: str | None, media_type: str | None) -> dict[str, Any]:
    from appwarden.evidence.policy.analyse import analyse_policy
    from appwarden.pipeline import judge_policy_document

    return judge_policy_document(analyse_policy(data, filename=filename, media_type=media_type))


@router.post("/policies/analyse")
async def analyse_policy_document(
    policy: UploadFile = File(
        ..., description="Privacy policy (HTML, saved web page (MHTML), text, PDF or DOCX; any Chinese encoding)"
    ),
    principal: Principal = Depends(allow(Role.REGULATOR, Role.LAB, Role.STORE, Role.DEVELOPER)),
) -> dict[str, Any]:
    """Analyse one policy document and judge it by itself (no app): outline, labels, facts, findings."""
    data = await _read_bounded(policy, MAX_POLICY_BYTES)
    # Parsing and classifying is CPU work: keep it off the event loop.
    return await run_in_threadpool(_judge, data, policy.filename, policy.content_type)
