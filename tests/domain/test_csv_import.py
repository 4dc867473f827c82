"""Importing units from the committed CSV fixtures: encodings, ordering, bad rows, re-import, the CLI."""
from __future__ import annotations

import csv
from pathlib import Path

import prcoords
import pytest
from click.testing import CliRunner

from domain.access import SYSTEM
from domain.audit import AuditEvent
from domain.errors import CsvEncodingError, CsvHeaderError
from domain.units import csv_import
from domain.units.models import Unit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
UTF8_BOM = FIXTURES / "units_utf8_bom.csv"
GBK = FIXTURES / "units_gbk.csv"
UPDATE = FIXTURES / "units_update.csv"


def run(path: Path):
    return csv_import.import_units(SYSTEM, path.read_bytes())


def test_the_fixtures_are_what_they_claim_to_be():
    assert UTF8_BOM.read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        GBK.read_bytes().decode("utf-8")


def test_a_utf8_file_with_bom_imports_good_rows_parents_first_and_reports_the_bad_ones():
    report = run(UTF8_BOM)
    assert report.counts == {"created": 5, "updated": 0, "unchanged": 0, "bad": 6}
    assert [(o.row, o.error_code) for o in report.bad] == [
        (7, "csv.duplicate-code"), (8, "csv.row-malformed"), (9, "csv.row-malformed"),
        (10, "unit.field-rule"), (11, "csv.parent-unresolved"), (12, "unit.code-format")]
    assert report.bad[0].params == {"code": "440703000000", "first_row": 3}
    assert report.bad[1].params == {"field": "lon", "value": "东经113"}
    # the site on row 2 names a parent from row 3: it waited for it
    city, district = Unit.objects.get(code="440700000000"), Unit.objects.get(code="440703000000")
    hall = Unit.objects.get(code="PJ-ZWFW")
    assert hall.ancestors == [city.pk, district.pk] and hall.address == "江门市蓬江区白沙大道西, 1 号"
    office = Unit.objects.get(code="PJ-DCS")  # written lower-case in the file
    assert office.jurisdiction_roots == [district.pk]
    assert district.name == "蓬江区"  # the duplicate row did not overwrite the first
    assert AuditEvent.objects(action="unit.create").count() == 5


def test_a_gcj02_position_in_the_file_is_stored_in_wgs84():
    run(UTF8_BOM)
    window = Unit.objects.get(code="JM-SCJG-CK")
    assert window.location_input == {"crs": "gcj02", "lon": 113.0772, "lat": 22.5804}
    lon, lat = window.location["coordinates"]
    back = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    assert back.distance(prcoords.Coords(22.5804, 113.0772)) < 1.0
    assert prcoords.Coords(lat, lon).distance(prcoords.Coords(22.5804, 113.0772)) > 300


def test_a_gbk_file_with_chinese_headers_and_values_imports():
    report = run(GBK)
    assert report.counts == {"created": 4, "updated": 0, "unchanged": 0, "bad": 1}
    assert (report.bad[0].row, report.bad[0].error_code) == (6, "geo.coordinate-out-of-range")
    hall = Unit.objects.get(code="XH-ZWFW")
    assert hall.name == "新会区政务服务中心" and str(hall.kind) == "site" and hall.radius_m == 150
    assert hall.location["coordinates"] == [113.034, 22.521]
    assert str(Unit.objects.get(code="440705000000").level) == "county"


def test_reimporting_updates_by_code_and_moves_changed_parents():
    run(UTF8_BOM)
    again = run(UTF8_BOM)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 5, "bad": 6}
    report = run(UPDATE)
    assert [(o.code, o.outcome) for o in report.outcomes] == [
        ("440700000000", "unchanged"), ("440703000000", "updated"), ("PJ-ZWFW", "updated")]
    assert Unit.objects.get(code="440703000000").name_en == "Pengjiang District"
    hall, office = Unit.objects.get(code="PJ-ZWFW"), Unit.objects.get(code="PJ-DCS")
    assert hall.radius_m == 200 and hall.parent == office.pk and hall.ancestors[-1] == office.pk
    assert len(hall.moves) == 1
    assert {e.action for e in AuditEvent.objects(target_id=str(hall.pk))} == {"unit.create", "unit.update", "unit.move"}


def test_a_parent_cycle_in_the_file_marks_both_rows_bad():
    data = ("code,name,kind,parent_code\nORG-A,甲,organisation,ORG-B\nORG-B,乙,organisation,ORG-A\n"
            "ORG-C,丙,organisation,\n").encode()
    report = csv_import.import_units(SYSTEM, data)
    assert report.counts == {"created": 1, "updated": 0, "unchanged": 0, "bad": 2}
    assert {o.error_code for o in report.bad} == {"csv.parent-unresolved"}


def test_files_that_cannot_be_read_are_refused_whole():
    with pytest.raises(CsvHeaderError) as err:
        csv_import.import_units(SYSTEM, "编码,名称,颜色\n".encode())
    assert err.value.params == {"missing": "kind", "unknown": "颜色"}
    with pytest.raises(CsvHeaderError):
        csv_import.import_units(SYSTEM, b"")
    with pytest.raises(CsvEncodingError):
        csv_import.decode(b"code,name\n\x81\x20\xff\xfe")


def test_the_cli_shows_progress_writes_a_report_and_exits_1_on_bad_rows(settings, tmp_path):
    from ops.cli import main

    report_path = tmp_path / "report.csv"
    result = CliRunner().invoke(main, ["import-units", str(UTF8_BOM), "--report", str(report_path)])
    assert result.exit_code == 1, result.output
    assert "created 5, updated 0, unchanged 0, bad 6" in result.output
    assert "row 8 BAD-LON: csv.row-malformed 列 lon 的值“东经113”不正确。" in result.output
    rows = list(csv.DictReader(report_path.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 11 and rows[0] == {"row": "2", "code": "PJ-ZWFW", "outcome": "created",
                                           "error_code": "", "message": ""}
    clean = CliRunner().invoke(main, ["import-units", str(UPDATE)])
    assert clean.exit_code == 0, clean.output


def test_a_cell_with_a_control_or_bidi_override_character_fails_its_row_and_names_are_stored_in_nfc():
    header = "code,name,name_en,kind,level,parent_code,address,lon,lat,crs,radius_m,jurisdiction_codes\n"
    rows = ("440799000001,蓬江区\u202e局,,organisation,,,,,,,,\n"
            "440799000002,bad\x1bname,,organisation,,,,,,,,\n"
            "440799000003,Cafe\u0301 窗口,,organisation,,,,,,,,\n")
    report = csv_import.import_units(SYSTEM, (header + rows).encode("utf-8"))
    assert [(o.row, o.error_code) for o in report.bad] == [(2, "text.forbidden-character"),
                                                          (3, "text.forbidden-character")]
    assert report.bad[0].params == {"field": "name", "char": "U+202E", "position": 3}
    assert Unit.objects.get(code="440799000003").name == "Caf\u00e9 窗口"
