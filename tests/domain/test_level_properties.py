"""The level rule and the next-step rule hold for any valid maturity model (Hypothesis).

Random models have 2 to 6 levels, 1 to 12 capabilities spread over them (every level above 0
needs at least one) and 1 to 6 steps; random answers mix yes, partly, no, not sure and no
answer. The oracles below restate the rules from docs/maturity-model.md directly.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import (
    Answer,
    Capability,
    Checklist,
    Step,
    compute_level,
    model_to_yaml,
    next_step,
    parse_model,
    report,
)

RULES = settings(max_examples=150, deadline=None)
FILES = settings(max_examples=30, deadline=None)  # parsing YAML is slower


@st.composite
def models(draw) -> Checklist:
    levels = draw(st.integers(min_value=2, max_value=6))
    top = levels - 1
    count = draw(st.integers(min_value=top, max_value=12))
    # every level 1..top at least once, then any levels, in a random order
    cap_levels = list(range(1, top + 1)) + draw(
        st.lists(st.integers(1, top), min_size=count - top, max_size=count - top)
    )
    cap_levels = draw(st.permutations(cap_levels))
    steps = draw(st.integers(min_value=1, max_value=min(6, count)))
    cap_steps = sorted(
        list(range(1, steps + 1))
        + draw(st.lists(st.integers(1, steps), min_size=count - steps, max_size=count - steps))
    )
    capabilities = tuple(
        Capability(
            id=f"cap_{i}",
            title=f"Capability {i}",
            question=f"Question {i}?",
            help=f"Help {i}.",
            tools=(),
            level=cap_levels[i],
            step=cap_steps[i],
        )
        for i in range(count)
    )
    return Checklist(
        version="1",
        name="random",
        title="A random model",
        level_names=tuple(f"Level {n}" for n in range(levels)),
        capabilities=capabilities,
        steps=tuple(
            Step(
                number=n,
                title=f"Step {n}",
                why=f"Why {n}.",
                tools=(),
                capability_ids=tuple(c.id for c in capabilities if c.step == n),
            )
            for n in range(1, steps + 1)
        ),
    )


ANSWER = st.sampled_from([*Answer, None])


@st.composite
def model_and_answers(draw) -> tuple[Checklist, dict[str, Answer]]:
    model = draw(models())
    answers = {}
    for cid in model.ids:
        value = draw(ANSWER)
        if value is not None:
            answers[cid] = value
    # answers for capabilities the model does not have are ignored
    if draw(st.booleans()):
        answers["not_in_this_model"] = Answer.YES
    return model, answers


def oracle_level(model: Checklist, answers: dict[str, Answer]) -> int:
    """One below the lowest level that has a capability not answered yes; else the top."""
    gaps = [c.level for c in model.capabilities if answers.get(c.id) != Answer.YES]
    return min(gaps) - 1 if gaps else model.top_level


@RULES
@given(model_and_answers())
def test_level_is_the_highest_whose_requirements_are_all_yes(case) -> None:
    model, answers = case
    level = compute_level(answers, model)
    assert level == oracle_level(model, answers)
    assert 0 <= level <= model.top_level
    for n in range(1, level + 1):
        assert all(answers.get(cid) == Answer.YES for cid in model.required_for(n))
    if level < model.top_level:
        assert not all(answers.get(cid) == Answer.YES for cid in model.required_for(level + 1))


@RULES
@given(model_and_answers(), st.data())
def test_one_more_yes_never_lowers_the_level(case, data) -> None:
    model, answers = case
    cid = data.draw(st.sampled_from(model.ids))
    assert compute_level(answers | {cid: Answer.YES}, model) >= compute_level(answers, model)
    # and anything but yes on a required capability caps the level below that capability's
    worse = data.draw(st.sampled_from([Answer.PARTLY, Answer.NO, Answer.NOT_SURE]))
    assert compute_level(answers | {cid: worse}, model) < model.capability(cid).level


@RULES
@given(model_and_answers())
def test_report_counts_toward_the_next_level(case) -> None:
    model, answers = case
    r = report(answers, model)
    assert r.level == compute_level(answers, model)
    assert r.top_level == model.top_level
    target = r.next_level if r.next_level is not None else model.top_level
    assert r.next_level == (r.level + 1 if r.level < model.top_level else None)
    required = model.required_for(target)
    assert set(r.have) | set(r.missing) == set(required)
    assert r.have == tuple(c for c in required if c in r.have)  # asking order
    assert r.missing == tuple(c for c in required if c in r.missing)
    assert set(r.have).isdisjoint(r.missing)
    assert set(r.partly) <= set(r.missing)
    assert r.yes_count == len(r.have) and r.required_count == len(required)
    assert (r.next_level is None) == (not r.missing and r.level == model.top_level)
    if r.next_level is None:
        assert r.progress_text == f"All {len(model.ids)} in place"
    else:
        assert r.progress_text == f"{len(r.have)} of {len(required)} for L{r.next_level}"
    ahead_yes = any(
        answers.get(c.id) == Answer.YES
        for c in model.capabilities
        if r.next_level is not None and c.level > r.next_level
    )
    assert (r.blocked_note is not None) == ahead_yes


@RULES
@given(model_and_answers())
def test_next_step_is_the_first_step_not_all_yes(case) -> None:
    model, answers = case
    step = next_step(answers, model)
    done = [all(answers.get(c) == Answer.YES for c in s.capability_ids) for s in model.steps]
    if all(done):
        assert step is None
        assert compute_level(answers, model) == model.top_level
    else:
        assert step is not None
        assert step.number == done.index(False) + 1
        assert all(done[: step.number - 1])
        # the step names at least one capability that is not yet yes
        assert any(answers.get(c) != Answer.YES for c in step.capability_ids)


@FILES
@given(models())
def test_every_valid_model_round_trips_through_a_model_file(model: Checklist) -> None:
    assert parse_model(model_to_yaml(model)) == model


@RULES
@given(models())
def test_levels_are_cumulative(model: Checklist) -> None:
    for n in range(1, model.top_level):
        assert set(model.required_for(n)) < set(model.required_for(n + 1))
    assert set(model.required_for(model.top_level)) == set(model.ids)
