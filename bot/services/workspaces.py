"""Workspaces: the root every other row hangs from."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.models import Workspace, utcnow


def ensure(session: Session, workspace_id: str) -> Workspace:
    """Return the workspace row, creating it on first contact."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        workspace = Workspace(id=workspace_id)
        session.add(workspace)
        session.flush()
    elif workspace.uninstalled_at is not None:
        workspace.uninstalled_at = None  # a request from it means it is installed again
    return workspace


def mark_uninstalled(session: Session, workspace_id: str) -> None:
    """Stop acting for a workspace that removed the app; its data stays."""
    workspace = ensure(session, workspace_id)
    workspace.uninstalled_at = utcnow()
