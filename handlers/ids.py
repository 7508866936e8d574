"""Action, block and callback ids in one place, used by templates and registrations alike,
so the two can never drift apart. Templates see every enum here by its class name."""

from enum import StrEnum


class Action(StrEnum):
    ANSWER_YES = "answer_yes"
    ANSWER_PARTLY = "answer_partly"
    ANSWER_NO = "answer_no"
    ANSWER_NOT_SURE = "answer_not_sure"
    BACK = "assess_back"
    ADD_NOTE = "assess_note"
    KEEP_REST = "assess_keep_rest"
    START_ASSESS = "assess_start"
    ASSESS_STEP = "assess_step"
    OPEN_STATUS = "open_status"
    OPEN_NEXT = "open_next"
    OPEN_HISTORY = "open_history"
    TEAMS_PAGE = "teams_page"
    EDIT_TEAM = "edit_team"
    NEW_TEAM = "team_new"  # in the edit form: switch to a blank "New team" form
    USE_MODEL = "use_model"
    OPEN_EVIDENCE = "open_evidence"
    EVIDENCE_REFRESH = "evidence_refresh"
    CONNECT_TOOLS = "connect_tools"
    EVIDENCE_DISMISS = "evidence_dismiss"
    PURPOSE_ANSWER = "purpose_answer"  # suffixed "_<purpose>": one button per purpose
    TEAMS_FILTER = "teams_filter"
    HOME_FILTER = "home_filter"
    # inputs inside modals
    NOTE_ANSWER = "note_answer"
    NOTE_TEXT = "note_text"
    TEAM_NAME = "team_name"
    TEAM_CHANNEL = "team_channel"
    TEAM_OWNERS = "team_owners"
    CONNECT_MLFLOW_URL = "connect_mlflow_url"
    CONNECT_EXPERIMENTS = "connect_experiments"
    CONNECT_MODELS = "connect_models"
    CONNECT_REPO_URL = "connect_repo_url"
    CONNECT_BRANCH = "connect_branch"
    CONNECT_PATH = "connect_path"
    DISMISS_REASON = "dismiss_reason"
    TEAM_PURPOSE = "team_purpose"
    TEAM_NUDGES = "team_nudges"


class Block(StrEnum):
    HELP = "help"
    HELP_UNKNOWN = "help_unknown"
    ANSWERS = "answers"
    NAVIGATION = "navigation"
    NOTE_ANSWER = "note_answer"
    NOTE_TEXT = "note_text"
    TEAM_NAME = "team_name"
    TEAM_CHANNEL = "team_channel"
    TEAM_OWNERS = "team_owners"
    CONNECT_MLFLOW_URL = "connect_mlflow_url"
    CONNECT_EXPERIMENTS = "connect_experiments"
    CONNECT_MODELS = "connect_models"
    CONNECT_REPO_URL = "connect_repo_url"
    CONNECT_BRANCH = "connect_branch"
    CONNECT_PATH = "connect_path"
    DISMISS_REASON = "dismiss_reason"
    TEAM_PURPOSE = "team_purpose"
    TEAM_NUDGES = "team_nudges"
    PURPOSE_QUESTION = "purpose_question"
    TEAMS_FILTER = "teams_filter"
    HOME_FILTER = "home_filter"


class Callback(StrEnum):
    NOTE_MODAL = "note_modal"
    TEAM_MODAL = "team_modal"
    STATUS_MODAL = "status_modal"
    CONNECT_MODAL = "connect_modal"
    DISMISS_MODAL = "dismiss_modal"


class DeliveryAction(StrEnum):
    """Buttons on what the bot sends on its own (digests, nudges, reminders)."""

    DONE = "assess_step"  # handled by the assessment flow: re-asks one step
    REASSESS = "assess_start"  # handled by the assessment flow: value is the team id
    SNOOZE = "delivery_snooze"
    SNOOZE_UNTIL = "delivery_snooze_until"
    STOP = "delivery_stop"
    OPEN_OVERVIEW = "delivery_open_overview"


class DeliveryBlock(StrEnum):
    NUDGE_ACTIONS = "delivery_nudge_actions"  # suffixed ":<team id>" (a datepicker has no value)
    DIGEST_ACTIONS = "delivery_digest_actions"
