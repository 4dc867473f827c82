"""The installed package (what the Docker image runs) carries its data: message catalogues and forms."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_message_catalogues_and_the_shipped_forms(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("inspection_backend-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for po in (ROOT / "api" / "messages").rglob("*.po"):
        assert po.relative_to(ROOT).as_posix() in names
    for data in [*(ROOT / "inspection_forms").glob("*.yaml"), ROOT / "inspection_forms" / "form.schema.json"]:
        assert data.relative_to(ROOT).as_posix() in names
    assert not any(n.startswith("tests/") for n in names)
