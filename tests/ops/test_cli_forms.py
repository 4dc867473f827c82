"""inspectctl forms validate / load: precise errors, exit codes, and nothing half-loaded."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from domain.forms import FormVersion
from inspection_forms import FORMS_DIR
from ops.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures" / "forms"


def run(*args: str):
    return CliRunner().invoke(main, ["forms", *args])


def test_validate_checks_the_shipped_forms_by_default_and_exits_0():
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert "ok open_check_service_hall v2" in result.stdout
    assert "ok undercover_mystery_visit v2" in result.stdout
    assert "ok work_discipline_office v2" in result.stdout


def test_validate_prints_file_json_path_and_reason_and_exits_1():
    bad = FIXTURES / "show_if_later_item.yaml"
    result = run("validate", str(bad), str(FIXTURES / "unknown_category.yaml"))
    assert result.exit_code == 1
    assert (f"{bad}: sections[0].items[0].show_if.item: item 'queue' comes after this item; "
            "a condition may only look at earlier items [show-if-later-item]") in result.stderr
    assert "sections[0].items[0].category: unknown problem category 'rude_staff'" in result.stderr
    assert "2 problem(s) in 2 file(s)" in result.stderr


def test_validate_of_a_missing_file_exits_1():
    result = run("validate", "no/such/form.yaml")
    assert result.exit_code == 1 and "no such file or directory [file-not-found]" in result.stderr


def test_load_adds_new_versions_and_reports_unchanged_ones(settings, tmp_path):
    form = yaml.safe_load((FORMS_DIR / "work_discipline_office.yaml").read_text(encoding="utf-8"))
    form["version"] = 3
    form["description"]["en"] = "Office discipline, third edition."
    path = tmp_path / "work_discipline_office.yaml"
    path.write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")

    result = run("load", str(path))
    assert result.exit_code == 0, result.output
    assert "added work_discipline_office v3" in result.stdout
    # Connecting loaded the shipped forms first, so version 2 is there too.
    assert sorted(FormVersion.objects(form_id="work_discipline_office").scalar("version")) == [2, 3]
    again = run("load")
    assert again.exit_code == 0 and "unchanged open_check_service_hall v2" in again.stdout


def test_load_of_a_batch_with_a_bad_file_loads_nothing_and_exits_1(settings, tmp_path):
    form = yaml.safe_load((FORMS_DIR / "open_check_service_hall.yaml").read_text(encoding="utf-8"))
    form["version"] = 3
    (tmp_path / "open_check_service_hall.yaml").write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    shutil.copy(FIXTURES / "duplicate_item_id.yaml", tmp_path)

    result = run("load", str(tmp_path))
    assert result.exit_code == 1
    assert "sections[1].items[0].id: item id 'door_easy' is already used" in result.stderr
    assert "refused (form.invalid): nothing was loaded" in result.stderr
    assert FormVersion.objects(version=3).count() == 0


def test_load_refuses_a_changed_file_whose_version_was_not_bumped(settings, tmp_path):
    form = yaml.safe_load((FORMS_DIR / "open_check_service_hall.yaml").read_text(encoding="utf-8"))
    form["title"]["zh"] = "改过的标题"
    (tmp_path / "open_check_service_hall.yaml").write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")

    result = run("load", str(tmp_path))
    assert result.exit_code == 1
    assert "open_check_service_hall.yaml: version: version 2 of 'open_check_service_hall' is already loaded" \
           in result.stderr
    assert "bump the version" in result.stderr
    assert FormVersion.objects.get(form_id="open_check_service_hall").title["zh"] == "政务服务大厅（窗口）明查检查表"
