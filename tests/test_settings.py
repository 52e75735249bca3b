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


def test_the_screening_part_read_alone_agrees_and_follows_the_file(tmp_path):
    """``core.screening_settings`` (what the screen listing and the log read) gives what
    ``load_settings`` gives, and a changed file is read again in the same process."""
    from evsynth.core.screening_settings import load_exclusion_reasons, load_screening_settings

    assert load_screening_settings(REPO) == load_settings(REPO).screening
    assert load_exclusion_reasons(REPO) == load_settings(REPO).exclusion_reasons
    path = tmp_path / "review.toml"
    assert load_screening_settings(tmp_path) == ScreeningSettings()
    path.write_text("[screening]\nseed = 41\n")
    assert load_screening_settings(tmp_path).seed == 41
    path.write_text("[screening]\nseed = 42\n")  # same size, at once: the text decides
    assert load_screening_settings(tmp_path).seed == 42
    path.write_text("exclusion_reasons = ['a', 'b']\n[screening]\nseed = 42\n")
    assert load_exclusion_reasons(tmp_path) == ("a", "b")
    path.write_text("[screening]\nseed = -1\n")
    with pytest.raises(EvsynthError, match="seed must be a whole number"):
        load_screening_settings(tmp_path)
    with pytest.raises(EvsynthError, match="seed must be a whole number"):  # not remembered as read
        load_exclusion_reasons(tmp_path)


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


def test_sections_are_the_review_s_own_text_and_the_bundled_page_shows_them():
    sections = load_settings(REPO).sections
    assert [s.id for s in sections] == ["how-found-2026-12", "compared-with-zhang-2025"]
    assert all(s.title and s.paragraphs for s in sections)
    html = (REPO / "reports" / "review.html").read_text(encoding="utf-8")
    for s in sections:
        assert f'<section id="{s.id}" class="review-text" title=' in html and f'<a href="#{s.id}">' in html
    # after the PRISMA flow, escaped as text
    assert html.index('<section id="prisma">') < html.index('<section id="how-found-2026-12"')
    assert "evsynth update" in html[html.index('<section id="how-found-2026-12"'):]


@pytest.mark.parametrize("text, message", [
    ("sections = 'x'", "[[sections]] must be tables"),
    ("[[sections]]\nid = 'A b'\ntitle = 't'", "#1: id must be lower-case letters"),
    ("[[sections]]\nid = 'a'\ntitle = ' '", "#1: title must be a non-empty string"),
    ("[[sections]]\nid = 'a'\ntitle = 't'\nparagraphs = 'p'", "#1: paragraphs must be a list of non-empty strings"),
    ("[[sections]]\nid = 'a'\ntitle = 't'\ncolour = 'red'", "#1: unknown key 'colour'"),
    ("[[sections]]\nid = 'a'\ntitle = 't'\n[[sections]]\nid = 'a'\ntitle = 'u'", "#2: id 'a' is used by an earlier"),
])
def test_bad_sections_are_one_line_errors(tmp_path, text, message):
    (tmp_path / "review.toml").write_text(text)
    with pytest.raises(EvsynthError) as err:
        load_settings(tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_section_s_text_is_escaped_on_the_page(project):
    from evsynth.cli.main import main
    with (project / "review.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[sections]]\nid = "note"\ntitle = "A <b>note</b>"\nitems = ["<script>x</script>"]\n')
    assert main(["build", "--root", str(project)]) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    assert "<h2>A &lt;b&gt;note&lt;/b&gt;</h2>" in html and "<li>&lt;script&gt;x&lt;/script&gt;</li>" in html
