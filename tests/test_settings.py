"""review.toml: the review's own words, with one-line errors for bad files."""

import pytest

from evsynth.core.errors import EvsynthError
from evsynth.core.settings import DEFAULT_TABLE_TITLES, ScreeningSettings, load_settings
from tests.conftest import REPO


def test_defaults_without_a_file(tmp_path):
    settings = load_settings(tmp_path)
    assert settings.seed == "" and settings.table_titles == DEFAULT_TABLE_TITLES


def test_the_bundled_review_names_its_seed():
    settings = load_settings(REPO)
    assert "thyroid" in settings.title and "52:823" in settings.seed
    assert settings.table_titles["table2"].startswith("Table 2.")
    assert len(settings.previous_version_notes) == 2


@pytest.mark.parametrize("text, message", [
    ("title = ", "not valid TOML"),
    ("colour = 'red'", "unknown key 'colour'"),
    ("title = 3", "title must be a string"),
    ("previous_version_notes = 'x'", "must be a list of strings"),
    ("[table_titles]\ntable9 = 'x'", "unknown table 'table9'"),
])
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    (tmp_path / "review.toml").write_text(text)
    with pytest.raises(EvsynthError, match=message):
        load_settings(tmp_path)


def test_screening_settings_default_and_read(tmp_path):
    assert load_settings(tmp_path).screening == ScreeningSettings(0.95, 0.95, 0)
    (tmp_path / "review.toml").write_text("[screening]\ntarget_recall = 0.9\nconfidence = 0.99\nseed = 42\n")
    assert load_settings(tmp_path).screening == ScreeningSettings(0.9, 0.99, 42)
    (tmp_path / "review.toml").write_text("[screening]\ntarget_recall = 1\n")
    assert load_settings(tmp_path).screening.target_recall == 1.0


@pytest.mark.parametrize("text, message", [
    ("screening = 3", "[screening] must be a table"),
    ("[screening]\nrecall = 0.9", "[screening] has unknown key 'recall'"),
    ("[screening]\ntarget_recall = 95", "target_recall must be above 0 and at most 1"),
    ("[screening]\ntarget_recall = '95%'", "target_recall must be a number"),
    ("[screening]\nconfidence = 1.0", "confidence must be above 0 and below 1"),
    ("[screening]\nseed = -1", "seed must be a whole number ≥ 0"),
    ("[screening]\nseed = 1.5", "seed must be a whole number ≥ 0"),
])
def test_bad_screening_settings(tmp_path, text, message):
    (tmp_path / "review.toml").write_text(text)
    with pytest.raises(EvsynthError) as caught:
        load_settings(tmp_path)
    assert message in str(caught.value) and str(caught.value).startswith("review.toml: ")
