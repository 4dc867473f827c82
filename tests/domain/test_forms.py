"""Forms as data: the loader's checks, the shipped forms, and versions that never change once loaded."""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from domain.access import SYSTEM, Actor, Role
from domain.audit import AuditEvent
from domain.errors import (Forbidden, FormInvalidError, FormVersionBehindError, FormVersionContentChangedError,
                           FormVersionNotFoundError)
from domain.forms import (CATEGORIES, FormVersion, get_form_version, list_categories, list_forms, load_forms,
                          load_shipped_forms, read_forms)
from domain.forms.loader import SCHEMA_PATH
from domain.forms.rules import content_hash
from inspection_forms import FORMS_DIR

FIXTURES = Path(__file__).parent.parent / "fixtures" / "forms"
V = 2  # the version of the shipped forms (inspection_forms/)
SHIPPED = ("open_check_service_hall", "undercover_mystery_visit", "work_discipline_office")
LIAISON = Actor(id=None, role=Role.LIAISON, username="liaison")
INSPECTOR = Actor(id=None, role=Role.INSPECTOR, username="inspector")

# fixture file -> (JSON path, code, words the message must contain)
BAD_FORMS = {
    "missing_title": ("title", "schema.required", "is required"),
    "unknown_item_type": ("sections[0].items[1].type", "schema.enum", "'slider' is not one of"),
    "score_step_zero": ("sections[1].items[0].step", "schema.exclusiveMinimum", "greater than 0"),
    "score_range_empty": ("sections[1].items[0].max", "range-empty", "max (1) must be greater than min (5)"),
    "score_step_mismatch": ("sections[1].items[0].step", "step-mismatch", "step 3 does not divide"),
    "duplicate_item_id": ("sections[1].items[0].id", "duplicate-item-id", "already used at sections[0].items[0]"),
    "show_if_unknown_item": ("sections[0].items[1].show_if.item", "show-if-unknown-item", "'no_such_item'"),
    "show_if_later_item": ("sections[0].items[0].show_if.item", "show-if-later-item", "comes after this item"),
    "show_if_self": ("sections[0].items[1].show_if.item", "show-if-self", "cannot depend on itself"),
    "show_if_bad_value": ("sections[0].items[1].show_if.equals", "show-if-bad-value", "true or false"),
    "show_if_equals_and_in": ("sections[0].items[1].show_if", "schema.shape", "exactly one of `equals` or `in`"),
    "unknown_category": ("sections[0].items[0].category", "unknown-category", "'rude_staff'"),
    "duplicate_option_value": ("sections[0].items[1].options[2].value", "duplicate-option-value",
                               "already used at sections[0].items[1].options[1]"),
    "problem_when_unknown_option": ("sections[0].items[1].problem_when[0]", "problem-when-unknown-option",
                                    "'endless'"),
    "min_photos_on_yes_no": ("sections[0].items[0].min_photos", "min-photos-not-photo-item", "only for photo items"),
    "problem_when_without_category": ("sections[0].items[0].category", "schema.required",
                                      "required when problem_when is given"),
    "options_on_yes_no": ("sections[0].items[0].options", "schema.unexpected-property", "not allowed on a yes_no item"),
    "wrong_form_id": ("form_id", "form-id-mismatch", "must equal the file name 'wrong_form_id'"),
    "duplicate_yaml_key": ("line 4, column 1", "yaml-syntax", "duplicate key 'version'"),
}


def write_form(directory: Path, form: dict) -> Path:
    path = directory / f"{form['form_id']}.yaml"
    path.write_text(yaml.safe_dump(form, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def shipped(form_id: str) -> dict:
    return yaml.safe_load((FORMS_DIR / f"{form_id}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(BAD_FORMS))
def test_the_loader_names_file_path_and_reason_of_each_kind_of_bad_form(name):
    path, code, words = BAD_FORMS[name]
    forms, problems = read_forms([FIXTURES / f"{name}.yaml"])
    assert forms == []
    assert [(p.path, p.code) for p in problems] == [(path, code)]
    assert words in problems[0].message
    assert problems[0].file.endswith(f"{name}.yaml")


def test_every_bad_fixture_has_an_expectation():
    assert {p.stem for p in FIXTURES.glob("*.yaml")} == set(BAD_FORMS)


def test_the_form_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_the_shipped_forms_are_valid_and_each_has_12_to_30_items():
    forms, problems = read_forms()
    assert problems == []
    assert sorted(f.form_id for f in forms) == list(SHIPPED)
    for form in forms:
        items = [i for s in form.content["sections"] for i in s["items"]]
        assert 12 <= len(items) <= 30, form.form_id
        assert any("show_if" in i for i in items), f"{form.form_id} has no conditional item"
        assert all(i["label"]["zh"] and i["label"]["en"] for i in items)


def test_the_undercover_form_is_marked_undercover_and_maps_a_hard_door_to_hard_to_enter():
    forms, _ = read_forms([FORMS_DIR / "undercover_mystery_visit.yaml"])
    content = forms[0].content
    items = {i["id"]: i for s in content["sections"] for i in s["items"]}
    assert content["mode"] == "undercover"
    assert items["entry_unobstructed"]["problem_when"] is False
    assert items["entry_unobstructed"]["category"] == "hard_to_enter"
    assert items["fee_posted_and_lawful"]["show_if"] == {"item": "fee_requested", "equals": True}


def test_normalising_makes_every_default_explicit():
    forms, _ = read_forms([FORMS_DIR / "work_discipline_office.yaml"])
    items = {i["id"]: i for s in forms[0].content["sections"] for i in s["items"]}
    assert items["badge_worn"]["required"] is True and items["badge_worn"]["min_photos"] == 0
    assert items["badge_worn"]["photos_when_problem"] == 0
    assert items["office_order"]["step"] == 1
    assert items["check_time"].get("severity") is None
    assert items["remarks"]["required"] is False and items["remarks"]["max_length"] == 2000


def test_loading_the_shipped_forms_stores_one_audited_version_each_and_reloading_is_a_no_op():
    report = load_shipped_forms()
    assert sorted(report.added) == [(f, V) for f in SHIPPED] and report.unchanged == []
    for doc in FormVersion.objects:
        assert doc.content_hash == content_hash(doc.content)
        assert doc.source == f"{doc.form_id}.yaml"
    events = AuditEvent.objects(action="form.version-loaded")
    assert sorted(e.target_id for e in events) == [f"{f}@{V}" for f in SHIPPED]
    assert {e.chain for e in events} == {"system"}

    again = load_shipped_forms()
    assert again.added == [] and sorted(again.unchanged) == [(f, V) for f in SHIPPED]
    assert FormVersion.objects.count() == 3 and AuditEvent.objects(action="form.version-loaded").count() == 3


def test_reformatting_a_file_without_changing_its_content_is_no_change(tmp_path):
    form = shipped("work_discipline_office")
    load_forms(SYSTEM, [write_form(tmp_path, form)])
    form["sections"][3]["items"][3]["max"] = 5.0  # 5 and 5.0 are one value
    path = tmp_path / "work_discipline_office.yaml"
    path.write_text("# a comment\n" + yaml.safe_dump(form, allow_unicode=True, sort_keys=True), encoding="utf-8")
    assert load_forms(SYSTEM, [path]).unchanged == [("work_discipline_office", V)]


def test_a_bumped_version_is_added_and_the_old_version_stays_unchanged(tmp_path):
    form = shipped("open_check_service_hall")
    path = write_form(tmp_path, form)
    load_forms(SYSTEM, [path])
    v1 = get_form_version(INSPECTOR, "open_check_service_hall", V)
    v1_content, v1_hash = v1.content, v1.content_hash

    form["version"] = V + 1
    form["sections"][1]["items"][0]["label"]["zh"] = "窗口工作人员是否全部在岗在位"
    write_form(tmp_path, form)
    report = load_forms(SYSTEM, [path])
    assert report.added == [("open_check_service_hall", V + 1)]

    old = get_form_version(INSPECTOR, "open_check_service_hall", V)
    assert old.content == v1_content and old.content_hash == v1_hash
    new = get_form_version(INSPECTOR, "open_check_service_hall", V + 1)
    assert new.content["sections"][1]["items"][0]["label"]["zh"] == "窗口工作人员是否全部在岗在位"
    assert new.content_hash != v1_hash
    [entry] = list_forms(INSPECTOR).items
    assert entry["version"] == V + 1 and [v["version"] for v in entry["versions"]] == [V + 1, V]


def test_a_changed_file_with_an_unchanged_version_is_refused_with_bump_the_version(tmp_path):
    form = shipped("open_check_service_hall")
    path = write_form(tmp_path, form)
    load_forms(SYSTEM, [path])
    form["sections"][0]["items"][0]["label"]["en"] = "When"
    write_form(tmp_path, form)

    with pytest.raises(FormVersionContentChangedError) as caught:
        load_forms(SYSTEM, [path])
    params = caught.value.params
    assert (params["form_id"], params["version"], params["latest"]) == ("open_check_service_hall", V, V)
    [problem] = params["_errors"][str(path.name)]
    assert problem["path"] == "version" and "bump the version" in problem["message"]
    assert FormVersion.objects.get().content["sections"][0]["items"][0]["label"]["en"] == "Time of the check"


def test_a_version_below_the_newest_stored_one_is_refused(tmp_path):
    form = shipped("work_discipline_office")
    form["version"] = V + 2
    path = write_form(tmp_path, form)
    load_forms(SYSTEM, [path])
    form["version"] = V + 1
    write_form(tmp_path, form)
    with pytest.raises(FormVersionBehindError) as caught:
        load_forms(SYSTEM, [path])
    assert caught.value.params["latest"] == V + 2
    assert FormVersion.objects.count() == 1


def test_a_batch_with_one_bad_file_loads_nothing(tmp_path):
    shutil.copy(FORMS_DIR / "open_check_service_hall.yaml", tmp_path)
    shutil.copy(FIXTURES / "show_if_later_item.yaml", tmp_path)
    with pytest.raises(FormInvalidError) as caught:
        load_forms(SYSTEM, [tmp_path])
    assert caught.value.params["count"] == 1 and caught.value.params["files"] == 1
    assert list(caught.value.params["_errors"]) == [str(tmp_path / "show_if_later_item.yaml")]
    assert FormVersion.objects.count() == 0
    assert AuditEvent.objects(action="form.version-loaded").count() == 0


def test_a_batch_with_one_refused_file_loads_nothing(tmp_path):
    form = shipped("open_check_service_hall")
    path = write_form(tmp_path, form)
    load_forms(SYSTEM, [path])
    form["title"]["zh"] = "改了标题却没改版本"
    write_form(tmp_path, form)
    shutil.copy(FORMS_DIR / "work_discipline_office.yaml", tmp_path)
    with pytest.raises(FormVersionContentChangedError):
        load_forms(SYSTEM, [tmp_path])
    assert FormVersion.objects(form_id="work_discipline_office").count() == 0


def test_the_same_form_id_twice_in_one_batch_is_refused(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(FORMS_DIR / "work_discipline_office.yaml", other)
    forms, problems = read_forms([FORMS_DIR / "work_discipline_office.yaml", other])
    assert [p.code for p in problems] == ["duplicate-form-id"]


def test_a_missing_path_or_an_empty_directory_is_a_problem_not_an_empty_load(tmp_path):
    _, problems = read_forms([tmp_path / "nope.yaml", tmp_path])
    assert [p.code for p in problems] == ["file-not-found", "no-forms"]


def test_two_processes_starting_together_store_each_version_once():
    results, errors = [], []
    barrier = threading.Barrier(2)

    def start():
        barrier.wait()
        try:
            results.append(load_shipped_forms())
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert FormVersion.objects.count() == 3
    assert sorted(sum((r.added for r in results), [])) == [(f, V) for f in SHIPPED]


def test_a_liaison_may_not_read_forms_but_may_read_the_categories():
    load_shipped_forms()
    with pytest.raises(Forbidden):
        list_forms(LIAISON)
    with pytest.raises(Forbidden):
        get_form_version(LIAISON, "undercover_mystery_visit", 1)
    assert list_categories(LIAISON)["categories"]


def test_an_unknown_version_is_not_found():
    load_shipped_forms()
    with pytest.raises(FormVersionNotFoundError):
        get_form_version(INSPECTOR, "open_check_service_hall", 9)


def test_the_categories_cover_the_glossary_with_labels_and_groups():
    cat = list_categories(INSPECTOR)
    ids = {c["id"] for c in cat["categories"]}
    assert {"hard_to_enter", "hard_face", "hard_to_get_done", "arbitrary_fees", "arbitrary_levies",
            "arbitrary_fundraising", "first_contact", "one_time_notice", "service_commitment", "time_limit",
            "window_discipline", "openness", "other"} <= ids
    by_id = {c["id"]: c for c in cat["categories"]}
    assert by_id["hard_to_enter"]["label"] == {"zh": "门难进", "en": "Hard to enter"}
    assert by_id["arbitrary_fees"]["group"] == "three_arbitrary"
    assert by_id["window_discipline.attire"]["parent"] == "window_discipline"
    groups = {g["id"]: g["label"]["zh"] for g in cat["groups"]}
    assert groups == {"three_difficulties": "三难", "three_arbitrary": "三乱"}
    assert all(c.zh and c.en for c in CATEGORIES)
