"""/api/v1/forms over HTTP: who may read forms, the shapes, and ETag caching for phones."""
from __future__ import annotations

import pytest
import yaml

from domain.access import SYSTEM
from domain.forms import load_forms, load_shipped_forms
from inspection_forms import FORMS_DIR

URL = "/api/v1/forms"
V = 2  # the version of the shipped forms (inspection_forms/)
VERSION_URL = URL + f"/undercover_mystery_visit/versions/{V}"
READERS = ("admin", "supervisor_east", "inspector_east", "leader_city")


@pytest.fixture
def forms(world):
    return load_shipped_forms()


@pytest.mark.parametrize("persona", READERS)
def test_everyone_who_plans_or_performs_inspections_lists_the_forms(client, world, forms, persona):
    resp = client.get(URL, headers=world.headers(persona))
    assert resp.status_code == 200, resp.get_json()
    items = resp.get_json()["items"]
    assert [i["form_id"] for i in items] == ["open_check_service_hall", "undercover_mystery_visit",
                                             "work_discipline_office"]
    undercover = items[1]
    assert undercover["mode"] == "undercover" and undercover["version"] == V
    assert undercover["title"] == {"zh": "暗访（模拟办事）检查表", "en": "Undercover mystery visit"}
    assert undercover["versions"] == [{"version": V, "content_hash": undercover["content_hash"],
                                       "loaded_at": undercover["loaded_at"]}]
    assert undercover["item_count"] == 29


@pytest.mark.parametrize("url", [URL, VERSION_URL])
def test_a_liaison_may_not_read_forms_or_their_content(client, world, forms, url):
    resp = client.get(url, headers=world.headers("liaison_water"))
    assert resp.status_code == 403
    body = resp.get_json()
    assert body["code"] == "access.forbidden" and "sections" not in resp.get_data(as_text=True)


def test_signing_in_is_needed(client, world, forms):
    assert client.get(URL).status_code == 401
    assert client.get(URL + "/categories").status_code == 401


def test_a_version_comes_whole_with_its_content_hash_as_etag(client, world, forms):
    resp = client.get(VERSION_URL, headers=world.headers("inspector_east"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert resp.headers["ETag"] == f'"{body["content_hash"]}"'
    assert body["form_id"] == "undercover_mystery_visit" and body["version"] == V
    items = [i for s in body["content"]["sections"] for i in s["items"]]
    door = next(i for i in items if i["id"] == "entry_unobstructed")
    assert door["category"] == "hard_to_enter" and door["problem_when"] is False and door["required"] is True


def test_if_none_match_with_the_current_etag_gives_an_empty_304(client, world, forms):
    headers = world.headers("inspector_east")
    etag = client.get(VERSION_URL, headers=headers).headers["ETag"]
    resp = client.get(VERSION_URL, headers={**headers, "If-None-Match": etag})
    assert resp.status_code == 304 and resp.get_data() == b"" and resp.headers["ETag"] == etag
    weak = client.get(VERSION_URL, headers={**headers, "If-None-Match": f'"0000", W/{etag}'})
    assert weak.status_code == 304  # If-None-Match compares weakly (RFC 9110 13.1.2)
    stale = client.get(VERSION_URL, headers={**headers, "If-None-Match": '"0000"'})
    assert stale.status_code == 200


def test_the_list_etag_changes_only_when_a_version_is_loaded(client, world, forms, tmp_path):
    headers = world.headers("supervisor_east")
    etag = client.get(URL, headers=headers).headers["ETag"]
    assert client.get(URL, headers={**headers, "If-None-Match": etag}).status_code == 304
    load_shipped_forms()
    assert client.get(URL, headers={**headers, "If-None-Match": etag}).status_code == 304

    form = yaml.safe_load((FORMS_DIR / "work_discipline_office.yaml").read_text(encoding="utf-8"))
    form["version"] = V + 1
    form["title"]["en"] = "Office work-discipline check"
    path = tmp_path / "work_discipline_office.yaml"
    path.write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    load_forms(SYSTEM, [path])
    resp = client.get(URL, headers={**headers, "If-None-Match": etag})
    assert resp.status_code == 200 and resp.headers["ETag"] != etag
    entry = next(i for i in resp.get_json()["items"] if i["form_id"] == "work_discipline_office")
    assert entry["version"] == V + 1 and [v["version"] for v in entry["versions"]] == [V + 1, V]
    old = client.get(URL + f"/work_discipline_office/versions/{V}", headers=headers).get_json()
    assert old["content"]["title"]["en"] == "Work-discipline check of an office"


def test_an_unknown_version_is_a_404_problem_in_both_languages(client, world, forms):
    resp = client.get(URL + "/open_check_service_hall/versions/7", headers=world.headers("admin", "en"))
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["code"] == "form.version-not-found"
    assert body["detail"] == "Form open_check_service_hall has no version 7."
    zh = client.get(URL + "/nope/versions/1", headers=world.headers("admin")).get_json()
    assert zh["detail"] == "未找到检查表 nope 的第 1 版。"


@pytest.mark.parametrize("persona", READERS + ("liaison_water",))
def test_every_signed_in_role_reads_the_problem_categories(client, world, persona):
    resp = client.get(URL + "/categories", headers=world.headers(persona))
    assert resp.status_code == 200
    body = resp.get_json()
    by_id = {c["id"]: c for c in body["categories"]}
    assert by_id["hard_face"] == {"id": "hard_face", "label": {"zh": "脸难看", "en": "Unfriendly faces"},
                                  "group": "three_difficulties", "parent": None}
    assert by_id["first_contact"]["label"]["zh"] == "首问责任制"
    assert [g["label"]["zh"] for g in body["groups"]] == ["三难", "三乱"]
