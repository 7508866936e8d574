"""Workspaces: the root every other row hangs from, and the end of a workspace's data.

Uninstalling stops everything at once (pending deliveries are cancelled and the token is
forgotten) but keeps the data for `retention_days`, so a reinstall by mistake loses
nothing; after that, or on request (`mlops-bot workspace purge`), every row goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Base, Delivery, DeliveryState, Installation, Team, Workspace, utcnow


def ensure(session: Session, workspace_id: str) -> Workspace:
    """Return the workspace row, creating it on first contact."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        try:
            with session.begin_nested():  # a savepoint: losing the race keeps the transaction
                session.add(Workspace(id=workspace_id))
        except IntegrityError:
            pass  # two first requests at once: the other one created it
        workspace = session.get(Workspace, workspace_id)
    elif workspace.uninstalled_at is not None:
        workspace.uninstalled_at = None  # a request from it means it is installed again
    return workspace


def mark_uninstalled(session: Session, workspace_id: str) -> int:
    """Stop acting for a workspace that removed the app; returns deliveries cancelled.

    Its data stays (see module docstring); its installation token is deleted.
    """
    workspace = ensure(session, workspace_id)
    workspace.uninstalled_at = utcnow()
    cancelled = session.execute(
        update(Delivery)
        .where(
            Delivery.workspace_id == workspace_id,
            Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        )
        .values(state=DeliveryState.CANCELLED, last_error="app uninstalled", lease_owner=None)
    ).rowcount
    session.execute(delete(Installation).where(Installation.team_id == workspace_id))
    return cancelled


def purge(session: Session, workspace_id: str) -> dict[str, int]:
    """Delete every row of a workspace, children first; returns rows deleted per table."""
    deleted: dict[str, int] = {}
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == "workspaces":
            continue
        if "workspace_id" in table.c:
            column = table.c.workspace_id
        elif table.name == "installations":
            column = table.c.team_id
        else:
            continue
        count = session.execute(delete(table).where(column == workspace_id)).rowcount
        if count:
            deleted[table.name] = count
    deleted["workspaces"] = session.execute(
        delete(Workspace).where(Workspace.id == workspace_id)
    ).rowcount
    return deleted


def purge_expired(session: Session, retention_days: int, now: datetime | None = None) -> list[str]:
    """Purge workspaces uninstalled more than `retention_days` ago; returns their ids."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    expired = list(
        session.scalars(
            select(Workspace.id).where(
                Workspace.uninstalled_at.is_not(None), Workspace.uninstalled_at < cutoff
            )
        )
    )
    for workspace_id in expired:
        purge(session, workspace_id)
    return expired


@dataclass(frozen=True)
class Summary:
    """One line of `mlops-bot workspace list`."""

    id: str
    name: str | None
    teams: int
    assessed: int
    first_seen: datetime
    uninstalled_at: datetime | None


def summaries(session: Session) -> list[Summary]:
    """Every workspace the database knows, oldest first, with its team counts.

    The name comes from the workspace row or, failing that, its OAuth installation.
    """
    teams = (
        select(
            Team.workspace_id,
            func.count().label("teams"),
            func.count(Team.level).label("assessed"),
        )
        .group_by(Team.workspace_id)
        .subquery()
    )
    names = (
        select(Installation.team_id, func.max(Installation.team_name).label("name"))
        .group_by(Installation.team_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Workspace,
            func.coalesce(teams.c.teams, 0),
            func.coalesce(teams.c.assessed, 0),
            names.c.name,
        )
        .outerjoin(teams, teams.c.workspace_id == Workspace.id)
        .outerjoin(names, names.c.team_id == Workspace.id)
        .order_by(Workspace.created_at, Workspace.id)
    )
    return [
        Summary(ws.id, ws.name or name, n, assessed, ws.created_at, ws.uninstalled_at)
        for ws, n, assessed, name in rows
    ]
