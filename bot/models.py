"""Typed SQLAlchemy models: every row belongs to exactly one Slack workspace.

Answers are append-only (an edit is a new row; the current answer is the newest), so
history and trends come for free and nothing a person entered is overwritten. A team keeps
its current level and last assessment time denormalised, so the overview of hundreds of
teams is one query. The `deliveries` table is the outbox described in docs/architecture.md.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain import Answer, Purpose
from bot.domain.evidence import SourceKind, Strength

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always handed back timezone-aware.

    SQLite has no time zone type and would return naive values; comparing those with aware
    ones raises, so normalise at the boundary once.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    """Store enums by value as plain strings: portable, readable, and easy to extend."""
    return Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=False,
    )


class AssessmentStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class Cadence(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    OFF = "off"


REMINDER_CADENCES = (Cadence.WEEKLY, Cadence.BIWEEKLY, Cadence.MONTHLY, Cadence.OFF)
"""What `remind` accepts: nudging a team every day would be noise."""
DIGEST_CADENCES = (Cadence.WEEKLY, Cadence.DAILY, Cadence.OFF)
"""What `digest` accepts: a digest summarises a period, so at least every day, at most weekly."""


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"  # nothing left to say when it came to sending (team gone, snoozed)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Workspace(Base):
    """A Slack workspace (team_id) the bot has seen; the root of all scoping."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    uninstalled_at: Mapped[datetime | None]


class Team(Base):
    """An ML team. `name_key` is the case-folded name that makes names unique per workspace."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))
    home_channel_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[int | None] = mapped_column(Integer)
    last_assessed_at: Mapped[datetime | None]
    last_assessed_by: Mapped[str | None] = mapped_column(String(32))
    # What the team's models are for (bot.domain.purposes). `purpose_set_at` is None until a
    # person says so (the form, or the question before a first assessment); until then the
    # team counts as production, the default, and the first assessment asks.
    purpose: Mapped[Purpose] = mapped_column(
        _enum(Purpose, 20), default=Purpose.PRODUCTION, server_default=Purpose.PRODUCTION.value
    )
    purpose_set_at: Mapped[datetime | None]
    # A team not in production is not nudged nor reminded, unless its owners turn this on.
    nudges_anyway: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    owners: Mapped[list[TeamOwner]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamOwner.user_id"
    )

    __mapper_args__ = {"eager_defaults": False}


Index("ix_teams_workspace_home_channel", Team.workspace_id, Team.home_channel_id)


class TeamOwner(Base):
    __tablename__ = "team_owners"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Per owner, not per team: co-owners in different time zones get their mornings apart.
    last_nudged_at: Mapped[datetime | None]

    team: Mapped[Team] = relationship(back_populates="owners")


class TeamReminder(Base):
    """A team's nudge settings: cadence, snooze and when it was last nudged."""

    __tablename__ = "team_reminders"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    cadence: Mapped[Cadence] = mapped_column(_enum(Cadence), default=Cadence.WEEKLY)
    snoozed_until: Mapped[datetime | None]
    last_nudged_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assessment(Base):
    """One run of the checklist for a team.

    `capability_ids` is None for a full run, or the subset re-asked by "mark this step done".
    At most one assessment per team is in progress (a partial unique index), so two people
    starting at once share one conversation instead of racing.
    """

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    started_by: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    status: Mapped[AssessmentStatus] = mapped_column(
        _enum(AssessmentStatus), default=AssessmentStatus.IN_PROGRESS
    )
    checklist_version: Mapped[str] = mapped_column(String(64))
    capability_ids: Mapped[list[str] | None] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int | None] = mapped_column(Integer)


Index("ix_assessments_team_id_status", Assessment.team_id, Assessment.status)
Index(
    "uq_assessments_one_in_progress",
    Assessment.team_id,
    unique=True,
    postgresql_where=text("status = 'in_progress'"),
    sqlite_where=text("status = 'in_progress'"),
)


class AnswerRecord(Base):
    """One answer, never updated: the newest row per (team, capability) is current."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    capability_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Answer] = mapped_column(_enum(Answer))
    note: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str] = mapped_column(String(32))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


Index(
    "ix_answers_team_capability",
    AnswerRecord.team_id,
    AnswerRecord.capability_id,
    AnswerRecord.id,
)


class LevelChange(Base):
    """A change of a team's level, up or down, with what caused it."""

    __tablename__ = "level_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL")
    )
    from_level: Mapped[int | None] = mapped_column(Integer)
    to_level: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why the level changed: None for an assessment, "model" when the workspace changed its
    # primary maturity model (recorded, never announced as a move up or down).
    cause: Mapped[str | None] = mapped_column(String(16))
    # The model the level is in ("microsoft:1"); None for rows from before models were files.
    model_ref: Mapped[str | None] = mapped_column(String(64))


class WorkspaceModel(Base):
    """A maturity model installed in a workspace; exactly one per workspace is primary.

    `source` is the model file's text for an organisation's own model, and None for a
    built-in (read from the package, so an upgrade of the bot updates it). Without any row a
    workspace uses the default (`CHECKLIST_FILE`, else Google's).
    """

    __tablename__ = "workspace_models"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(8), default="yaml")
    is_primary: Mapped[bool] = mapped_column(default=False)
    installed_by: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)


class PurposeChange(Base):
    """A change of a team's purpose, with who made it; `from_purpose` None: first set."""

    __tablename__ = "purpose_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    from_purpose: Mapped[Purpose | None] = mapped_column(_enum(Purpose, 20))
    to_purpose: Mapped[Purpose] = mapped_column(_enum(Purpose, 20))
    changed_by: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestSubscription(Base):
    """A channel subscribed to the org digest, at a local time in a time zone."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    channel_id: Mapped[str] = mapped_column(String(32))
    cadence: Mapped[Cadence] = mapped_column(_enum(Cadence), default=Cadence.WEEKLY)
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday; None for daily
    local_time: Mapped[str] = mapped_column(String(5), default="09:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A schedule applies from its last change on, so an edit never triggers a catch-up.
    updated_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    # The trend picture goes with each digest unless turned off (`... charts off`).
    charts: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The last trend picture shared here (a Slack file id), which App Home shows.
    picture_file_id: Mapped[str | None] = mapped_column(String(32))
    picture_alt_text: Mapped[str | None] = mapped_column(Text)
    picture_shared_at: Mapped[datetime | None]


class SlackUser(Base):
    """A cache of users.info: time zone for nudges, admin flags for permissions."""

    __tablename__ = "slack_users"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Events API ids already handled: Slack retries events and Bolt does not de-duplicate."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    # indexed for the retention purge's range scan (bot/retention.py)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Delivery(Base):
    """The outbox: one row per message the bot sends on its own, sent at most once per key."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    # indexed for the retention purge's range scan (bot/retention.py)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    message_ts: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)


Index("ix_deliveries_state_available_at", Delivery.state, Delivery.available_at)


class PaceBudget(Base):
    """One budget of the outbox's shared pace: a workspace's, or a channel's in a workspace.

    `tat` is when the budget's next message may go (GCRA's theoretical arrival time), in
    epoch seconds on the database's clock. Every sender books its messages here, in the
    transaction that claims them, so all senders together keep one pace (bot.outbox.pacing).
    """

    __tablename__ = "outbox_pace"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)


class WorkerHeartbeat(Base):
    """When each worker process last finished a tick; /healthz and /metrics report its age."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Installation(Base):
    """One workspace's (or org's) installation of the app, when installed through OAuth.

    `key` is the team id, or the enterprise id for an org-wide install; reinstalling
    replaces the row. `bot_token` holds the token encrypted (a Fernet token, see bot.crypto),
    never in plain text; Text because the ciphertext is about twice as long as the token.
    """

    __tablename__ = "installations"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(255))
    is_enterprise_install: Mapped[bool] = mapped_column(default=False)
    app_id: Mapped[str | None] = mapped_column(String(32))
    bot_token: Mapped[str] = mapped_column(Text)
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(Text)
    installer_user_id: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthState(Base):
    """A one-time `state` of the OAuth flow, valid for a few minutes (CSRF protection)."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]


class EvidenceSource(Base):
    """A tool a team connected for evidence: its MLflow tracking server or a Git repository.

    One of each kind per team (connecting again replaces it). `options` holds the kind's
    filters: `experiments` and `models` name prefixes for MLflow, `branch` and `path` for a
    repository. The worker reads it when `next_check_at` comes, or sooner when
    `refresh_requested_at` is newer than `last_checked_at` (a refresh asked for in Slack);
    `lease_until` keeps two workers off the same source. No credential is ever stored:
    operators give them per host (README).
    """

    __tablename__ = "evidence_sources"
    __table_args__ = (UniqueConstraint("team_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind))
    url: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_head_commit: Mapped[str | None] = mapped_column(String(64))
    next_check_at: Mapped[datetime | None]
    refresh_requested_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]


Index("ix_evidence_sources_next_check_at", EvidenceSource.next_check_at)


class EvidenceFact(Base):
    """What one source showed for one capability when last read: replaced on each read.

    `strength` is strong, weak or none ("looked, found nothing"); a source that could not be
    read leaves its previous facts until they expire (`expires_at`, 7 days after
    `observed_at`), after which the capability is unknown. `details` holds the numbers,
    file paths and links behind `summary`.
    """

    __tablename__ = "evidence_facts"
    __table_args__ = (UniqueConstraint("source_id", "capability_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("evidence_sources.id", ondelete="CASCADE"))
    capability_id: Mapped[str] = mapped_column(String(64))
    strength: Mapped[Strength] = mapped_column(_enum(Strength))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class EvidenceDismissal(Base):
    """An owner's word that a contradiction flagged by the evidence is not one, and why.

    It answers one answer (`answer_id`): while that answer is the team's current one the
    contradiction shows as dismissed, with the reason; a new answer is judged afresh. Rows are
    never updated, so `/mlops history` keeps every dismissal. `summary` is what the tools
    said when it was dismissed.
    """

    __tablename__ = "evidence_dismissals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    capability_id: Mapped[str] = mapped_column(String(64))
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    dismissed_by: Mapped[str] = mapped_column(String(32))
    dismissed_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_evidence_dismissals_team_id", EvidenceDismissal.team_id, EvidenceDismissal.id)
