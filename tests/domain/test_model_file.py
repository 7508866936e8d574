"""Model files: the built-ins' content written out by hand, extending, and every mistake named.

A model file is what an organisation writes to bring its own maturity model, so each mistake
must come back as one message naming the field and its line, and all mistakes at once.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bot.domain import (
    DEFAULT_CHECKLIST,
    Answer,
    ModelFileError,
    builtin_model,
    compute_level,
    load_model,
    model_to_yaml,
    next_step,
    parse_model,
    report,
)
from bot.domain.checklist import ChecklistError

Y = Answer.YES

# --- The built-ins, written out by hand ---------------------------------------------------------

MICROSOFT_TABLE = {
    # id: (level first requiring it, step)
    "source_control": (1, 1),
    "app_ci": (1, 1),
    "data_versioning": (2, 2),
    "experiment_tracking": (2, 2),
    "automated_training": (2, 3),
    "model_registry": (2, 3),
    "cicd": (3, 4),
    "ab_testing": (3, 4),
    "release_traceability": (3, 4),
    "drift_monitoring": (4, 5),
    "automated_retraining": (4, 5),
    "automated_promotion": (4, 5),
}
GOOGLE_TABLE = {
    "data_versioning": (1, 1),
    "experiment_tracking": (1, 2),
    "model_registry": (1, 2),
    "automated_training": (1, 3),
    "feature_store": (1, 4),
    "cicd": (2, 5),
    "ab_testing": (2, 5),
    "automated_retraining": (2, 6),
    "drift_monitoring": (2, 6),
}


def test_google_is_the_default_and_has_three_levels() -> None:
    google = builtin_model("google")
    assert google is DEFAULT_CHECKLIST
    assert google.ref == "google:default-1"
    assert google.level_names == ("Manual", "ML pipeline", "CI/CD + continuous training")
    assert google.top_level == 2
    assert {c.id: (c.level, c.step) for c in google.capabilities} == GOOGLE_TABLE


def test_microsoft_has_five_levels_zero_to_four() -> None:
    ms = builtin_model("microsoft")
    assert ms.ref == "microsoft:1"
    assert ms.level_names == (
        "No MLOps",
        "DevOps but no MLOps",
        "Automated training",
        "Automated model deployment",
        "Full MLOps automated operations",
    )
    assert ms.top_level == 4
    assert {c.id: (c.level, c.step) for c in ms.capabilities} == MICROSOFT_TABLE
    assert [s.title for s in ms.steps] == [
        "Automate builds and tests of your code",
        "Make training reproducible",
        "Automate training and manage models",
        "Release models automatically",
        "Close the loop in production",
    ]
    assert ms.level_label(3) == "L3 · Automated model deployment"


def test_microsoft_levels_by_hand() -> None:
    ms = builtin_model("microsoft")
    assert compute_level({}, ms) == 0
    devops = {"source_control": Y, "app_ci": Y}
    assert compute_level(devops, ms) == 1
    training = devops | dict.fromkeys(
        ["data_versioning", "experiment_tracking", "automated_training", "model_registry"], Y
    )
    assert compute_level(training, ms) == 2
    deploy = training | dict.fromkeys(["cicd", "ab_testing", "release_traceability"], Y)
    assert compute_level(deploy, ms) == 3
    everything = dict.fromkeys(ms.ids, Y)
    assert compute_level(everything, ms) == 4
    r = report(training, ms)
    assert (r.level, r.next_level, r.progress_text) == (2, 3, "6 of 9 for L3")
    assert next_step(training, ms).title == "Release models automatically"
    assert report(everything, ms).progress_text == "All 12 in place"
    # Google's answers count in Microsoft's model where the ids are shared, and vice versa.
    google_l1 = dict.fromkeys(GOOGLE_TABLE, Y)
    assert compute_level(google_l1, ms) == 0  # no source control or app CI answered yet
    # ...and all of Google's with DevOps is L2, short of Microsoft's own release traceability
    assert compute_level(google_l1 | devops, ms) == 2
    assert report(google_l1 | devops, ms).missing == ("release_traceability",)


def test_microsoft_gap_in_a_lower_level_is_explained() -> None:
    ms = builtin_model("microsoft")
    answers = dict.fromkeys(ms.ids, Y) | {"app_ci": Answer.NO}
    r = report(answers, ms)
    assert r.level == 0
    assert r.blocked_note == (
        "10/10 of the additions of L2 to L4, but L1 is not complete: "
        "missing Automated builds and tests."
    )


@pytest.mark.parametrize("name", ["google", "microsoft"])
def test_built_ins_round_trip_through_their_own_file_format(name: str) -> None:
    model = builtin_model(name)
    assert parse_model(model_to_yaml(model)) == model


@pytest.mark.parametrize("name", ["google", "microsoft"])
def test_built_in_text_fits_where_it_is_shown(name: str) -> None:
    model = builtin_model(name)
    for cap in model.capabilities:
        assert len(cap.title) <= 30 and len(cap.question) <= 200 and len(cap.help) < 200
    for step in model.steps:
        assert len(step.title) <= 60 and len(step.why) <= 600


def test_unknown_built_in_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="google, microsoft"):
        builtin_model("ibm")


# --- Extending a built-in -----------------------------------------------------------------------

EXTENSION = """\
extends: google
name: acme
title: ACME's MLOps maturity model
version: 2026-11
levels: [Manual, Pipelines, Continuous delivery]
capabilities:
  - id: feature_store
    question: Do your models read features from the shared ACME feature platform?
  - id: model_cards
    title: Model cards
    question: Does every model in production have an up-to-date model card?
    help: A short page says what the model is for, how it was evaluated and its known limits.
    tools: [Model Card Toolkit]
    level: 1
    step: 7
    evidence: [model_card_files]
steps:
  - title: Document your models
    why: Nobody can own what nobody can explain.
"""


def test_an_extension_adds_and_rewords_and_keeps_the_rest() -> None:
    acme = parse_model(EXTENSION, "acme.yaml")
    google = builtin_model("google")
    assert acme.ref == "acme:2026-11"
    assert acme.level_names == ("Manual", "Pipelines", "Continuous delivery")
    assert acme.ids == (*google.ids, "model_cards")
    assert acme.capability("feature_store").question.startswith("Do your models read features")
    assert acme.capability("feature_store").help == google.capability("feature_store").help
    assert acme.capability("model_cards").evidence == ("model_card_files",)
    assert acme.required_for(1) == (*google.required_for(1), "model_cards")
    assert [s.title for s in acme.steps][-1] == "Document your models"
    assert acme.step(7).capability_ids == ("model_cards",)
    l1 = dict.fromkeys(google.required_for(1), Y)
    assert compute_level(l1, google) == 1
    assert compute_level(l1, acme) == 0  # the new capability is required too
    assert next_step(dict.fromkeys(google.ids, Y), acme).title == "Document your models"


def test_a_json_file_reads_the_same_as_yaml(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "acme.json"
    path.write_text(json.dumps(yaml.safe_load(EXTENSION), indent=2), encoding="utf-8")
    assert load_model(path) == parse_model(EXTENSION)


# --- Mistakes: one message each, naming the field and its line ---------------------------------


def problems_of(text: str) -> list[str]:
    with pytest.raises(ModelFileError) as caught:
        parse_model(textwrap.dedent(text), "m.yaml")
    assert isinstance(caught.value, ChecklistError)
    return caught.value.problems


VALID = """\
name: tiny
title: A tiny model
version: "1"
levels: [Ad hoc, Repeatable]
capabilities:
  - id: tracked
    title: Tracking
    question: Do you track runs?
    help: In one place.
    level: 1
    step: 1
steps:
  - title: Track runs
    why: Because.
    tools: [MLflow]
"""


def test_the_valid_tiny_model_loads() -> None:
    tiny = parse_model(VALID)
    assert (tiny.top_level, tiny.ids, tiny.capability("tracked").tools) == (1, ("tracked",), ())


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("level: 1\n", "level: 2\n", "m.yaml:10: capabilities[0].level: must be between 1 and 1"),
        ("level: 1\n", "level: one\n", "m.yaml:10: capabilities[0].level: must be a whole number"),
        ("    step: 1\n", "    step: 3\n", "m.yaml:11: capabilities[0].step: no step 3"),
        ("    help: In one place.\n", "", "m.yaml:6: capabilities[0].help: missing"),
        ("    help: In one place.\n", "    help: ''\n", "m.yaml:9: capabilities[0].help: must not"),
        ("    help: In", "    halp: x\n    help: In", "m.yaml:9: capabilities[0].halp: unknown"),
        ("id: tracked", "id: Tracked-Runs", "m.yaml:6: capabilities[0].id: 'Tracked-Runs' must"),
        ("name: tiny", "name: Tiny Model", "m.yaml:1: name: 'Tiny Model' must be lowercase"),
        ('version: "1"\n', "", "m.yaml:1: version: missing"),
        ("title: A tiny model", "title: [a, b]", "m.yaml:2: title: must be text"),
        ("levels: [Ad hoc, Repeatable]", "levels: [Only]", "m.yaml:4: levels: must list 2 to 6"),
        ("[Ad hoc, Repeatable]", "[a, b, c, d, e, f, g]", "m.yaml:4: levels: must list 2 to 6"),
        ("[Ad hoc, Repeatable]", "[Ad hoc, 7]", "m.yaml:4: levels[1]: must be the level's name"),
        ("    why: Because.\n", "", "m.yaml:13: steps[0].why: missing"),
        ("tools: [MLflow]", "tools: MLflow", "m.yaml:15: steps[0].tools: must be a list"),
        ("tools: [MLflow]", "tools: [MLflow, '']", "m.yaml:15: steps[0].tools[1]: must be one"),
        ("title: A tiny model\n", "title: A tiny model\nowner: me\n", "m.yaml:3: owner: unknown"),
        ("name: tiny\n", "name: tiny\nname: tiny\n", "m.yaml:2: name: appears twice"),
        (
            "    step: 1\n",
            "    step: 1\n    evidence: [DVC Files]\n",
            "m.yaml:12: capabilities[0].evidence[0]: 'DVC Files' must be snake_case",
        ),
        (
            "    help: In one place.\n",
            "    help: " + "x" * 200 + "\n",
            "m.yaml:9: capabilities[0].help: must be at most 199 characters, got 200",
        ),
    ],
)
def test_each_mistake_is_one_message_naming_field_and_line(old: str, new: str, expected) -> None:
    assert old in VALID
    found = problems_of(VALID.replace(old, new, 1))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_every_mistake_is_reported_at_once_in_file_order() -> None:
    text = (
        VALID.replace("level: 1", "level: 9")
        .replace("why: Because.", "why: ''")
        .replace("name: tiny", "name: Tiny")
    )
    found = problems_of(text)
    assert [p.split(": ")[0:2] for p in found] == [
        ["m.yaml:1", "name"],
        ["m.yaml:10", "capabilities[0].level"],
        ["m.yaml:14", "steps[0].why"],
    ]


def test_a_level_with_nothing_required_is_named() -> None:
    text = VALID.replace("[Ad hoc, Repeatable]", "[Ad hoc, Repeatable, Automated]")
    assert problems_of(text) == [
        "m.yaml:5: capabilities: no capability has level 2, so level 2 (Automated) would need "
        "nothing beyond the level below; add at least one"
    ]


def test_a_step_with_no_capability_is_named() -> None:
    text = VALID + "  - title: Empty\n    why: Nothing here.\n"
    assert problems_of(text) == [
        "m.yaml:16: steps[1]: step 2 (Empty) has no capability; give at least one "
        "capability step: 2"
    ]


def test_duplicate_capability_ids_are_named() -> None:
    text = VALID.replace("steps:", VALID[VALID.index("  - id") : VALID.index("steps:")] + "steps:")
    assert problems_of(text) == [
        "m.yaml:12: capabilities[1].id: 'tracked' is listed twice; keep one"
    ]


def test_extension_mistakes_are_named() -> None:
    found = problems_of(
        """\
        extends: ibm
        name: acme
        title: ACME
        version: "1"
        """
    )
    assert found == ["m.yaml:1: extends: must name a built-in model (google, microsoft)"]
    found = problems_of(
        """\
        extends: google
        name: acme
        title: ACME
        version: "1"
        levels: [a, b]
        capabilities:
          - id: cicd
          - id: new_one
            title: New
            question: New?
            help: New.
            level: 1
        """
    )
    assert found == [
        "m.yaml:5: levels: google has 3 levels; an extension may rename them but not add or "
        "remove any",
        "m.yaml:7: capabilities[0]: rewords 'cicd' but changes nothing; add a field or drop it",
        "m.yaml:8: capabilities[1].step: missing",
    ]


def test_not_yaml_and_not_a_mapping() -> None:
    assert problems_of("name: [unclosed\n")[0].startswith("m.yaml:2: not valid YAML")
    assert problems_of("- a\n- b\n") == [
        "m.yaml:1: (the file): must be a mapping of fields (name, title, version, levels, ...)"
    ]


def test_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read the file"):
        load_model(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",}', encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"bad.json:1: not valid JSON"):
        load_model(bad)


def test_yaml_is_read_safely_never_running_tags() -> None:
    found = problems_of("name: !!python/object/apply:os.system ['true']\n")
    assert "not valid YAML" in found[0]
