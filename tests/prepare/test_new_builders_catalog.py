"""The 17 CLIMB entries that had no builder: each has one (INSPECT says why not), and every builder's task and
label names are its catalog entry's, or it is one of the declared per-study / per-target views; their label
policy parameters are checked."""

from __future__ import annotations

import pytest

from climb.catalog import get
from climb.catalog.schema import Task
from climb.prepare.builder import builders_for, create_builder

NEW_ENTRIES = ["iiic", "inspect", "hemorrhage", "rspect", "vindr_mammo", "jichi", "bcss", "brain_mri", "cholec80",
               "expression_atlas", "geo", "hugadb", "ppmi", "abcd", "mimic_iv", "ppi", "vital"]
# Views whose instance task / labels are set from their parameters or from the study they read; their class
# attributes are the entry's.
VIEWS = {"mimic_iv_mortality48": (Task.binary, ["survived", "died"]),
         "mimic_iv_los": (Task.regression, ["length of stay (days)"]),
         "geo": (Task.other, ["condition (per series)"]),
         "expression_atlas": (Task.other, ["condition (per experiment)"])}


@pytest.mark.parametrize("entry_id", NEW_ENTRIES)
def test_entry_has_a_builder_or_says_why_not(entry_id):
    names = builders_for(entry_id)
    if entry_id == "inspect":
        assert names == []
        assert get(entry_id).notes.startswith("NO BUILDER")
        return
    assert names, entry_id


@pytest.mark.parametrize("name", sorted(n for e in NEW_ENTRIES for n in builders_for(e)))
def test_builder_task_and_labels_are_the_entry_s(name):
    """The registry-wide agreement is tests/test_catalog.py's; here: the views these builders are meant to be."""
    builder = create_builder(name)
    entry = get(builder.catalog_id)
    expected = VIEWS.get(name, (entry.task, entry.labels))
    assert (builder.task, list(builder.label_names)) == expected


@pytest.mark.parametrize(("name", "param", "allowed"), [
    ("jichi", "unknown_codes", "error|drop"), ("vindr_mammo", "missing_labels", "exclude|error"),
    ("rspect", "indeterminate", "error|drop"), ("abcd", "invalid_matrices", "error|drop")])
def test_policy_parameters_are_checked_when_the_builder_is_made(name, param, allowed):
    with pytest.raises(ValueError, match=rf"{param} must be one of {allowed}, got 'keep'"):
        create_builder(name, **{param: "keep"})


def test_prepare_of_a_catalog_id_without_a_builder_says_why():
    """`climb prepare inspect` explains (the entry's notes) instead of suggesting a similar name."""
    from typer.testing import CliRunner

    from climb.cli import app

    result = CliRunner().invoke(app, ["prepare", "inspect"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "inspect: no builder prepares this dataset. NO BUILDER" in text
    assert "Did you mean" not in text
    result = CliRunner().invoke(app, ["prepare", "mimic_iv"])
    assert result.exit_code == 2 and "mimic_iv_los, mimic_iv_mortality48" in " ".join(result.output.split())
