"""Admin privacy routes: export everything about a user, erase a user (/api/v1/admin/privacy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import CurrentAdmin, ServicesDep
from app.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/admin/privacy", tags=["admin"], responses=ERROR_RESPONSES | {
    403: ERROR_RESPONSES[400] | {"description": "Admins only"}})


@router.get("/users/{user}/export")
def export(user: str, admin: CurrentAdmin, services: ServicesDep) -> dict[str, Any]:
    """Everything stored about a user (conversations, messages, tickets with public events and mailed files,
    feedback) as JSON. Recorded in the audit log."""
    return services.privacy.export(user, admin.id)


@router.post("/users/{user}/erase")
def erase(user: str, admin: CurrentAdmin, services: ServicesDep) -> dict[str, Any]:
    """Anonymise everything of a user: their texts are removed and their id replaced by a pseudonym everywhere.
    Returns the counts and the audit event id; other users' tickets keep their content."""
    return services.privacy.erase(user, admin.id)
