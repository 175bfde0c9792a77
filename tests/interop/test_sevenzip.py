"""An export opens with the real 7-Zip (``7zz``) and its passphrase, and with nothing else."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from liaison import crypto
from tests.conftest import ApiClient
from tests.examples import fdl2
from tests.test_exports import as_stored, make_export
from tests.test_sealing import send_fdl2

pytestmark = pytest.mark.sevenzip

TIMEOUT_SECONDS = 30


def run_7zip(program: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run 7-Zip in ``cwd`` without a terminal: a missing password makes it fail instead of asking."""
    return subprocess.run(  # noqa: S603 - a fixed program and arguments built by the test
        [program, *arguments, "-bd"],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


@dataclass(frozen=True)
class Exported:
    path: Path
    passphrase: str
    sheet_id: str


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty folder where 7-Zip runs."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def export_to_file(api: dict[str, ApiClient], folder: Path, file_format: str) -> Exported:
    """An FDL2 exported through the API and downloaded by its recipient to a file in ``folder``."""
    sheet_id = send_fdl2(api)
    made = make_export(api, sheet_id, file_format=file_format)
    response = api["referent"].get(made.download_url)
    assert response.status_code == 200
    folder.mkdir()
    path = folder / f"fiche-FDL2-{sheet_id[:8]}.{file_format}"
    path.write_bytes(response.data)
    return Exported(path, made.passphrase, sheet_id)


@pytest.fixture(params=["7z", "zip"])
def exported(api: dict[str, ApiClient], tmp_path: Path, request: pytest.FixtureRequest) -> Exported:
    """An export in each format."""
    return export_to_file(api, tmp_path / "received", request.param)


@pytest.fixture
def exported_zip(api: dict[str, ApiClient], tmp_path: Path) -> Exported:
    return export_to_file(api, tmp_path / "received", "zip")


@pytest.fixture
def exported_7z(api: dict[str, ApiClient], tmp_path: Path) -> Exported:
    return export_to_file(api, tmp_path / "received", "7z")


def test_7zip_extracts_the_json_sent_and_the_pdf_with_the_passphrase(
    sevenzip: str, exported: Exported, workdir: Path
) -> None:
    out = workdir / "out"
    result = run_7zip(sevenzip, "x", f"-p{exported.passphrase}", f"-o{out}", str(exported.path), cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    base = f"fiche-FDL2-{exported.sheet_id[:8]}"
    assert sorted(path.name for path in out.iterdir()) == [f"{base}.json", f"{base}.pdf"]
    assert json.loads((out / f"{base}.json").read_text(encoding="utf-8")) == as_stored(fdl2())
    assert (out / f"{base}.pdf").read_bytes().startswith(b"%PDF-")


def test_7zip_tests_the_archive_as_sound_with_the_passphrase(sevenzip: str, exported: Exported, workdir: Path) -> None:
    result = run_7zip(sevenzip, "t", f"-p{exported.passphrase}", str(exported.path), cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Everything is Ok" in result.stdout


def test_7zip_refuses_a_wrong_passphrase_when_testing(sevenzip: str, exported: Exported, workdir: Path) -> None:
    result = run_7zip(sevenzip, "t", f"-p{crypto.new_passphrase()}", str(exported.path), cwd=workdir)
    assert result.returncode != 0
    assert "Wrong password" in result.stdout + result.stderr
    assert list(workdir.iterdir()) == []  # nothing extracted


def test_7zip_extracts_no_content_with_a_wrong_passphrase(sevenzip: str, exported: Exported, workdir: Path) -> None:
    out = workdir / "out"
    result = run_7zip(sevenzip, "x", f"-p{crypto.new_passphrase()}", f"-o{out}", str(exported.path), cwd=workdir)
    assert result.returncode != 0
    written = [path for path in out.rglob("*") if path.is_file()] if out.exists() else []
    # 7-Zip leaves the files it could not decrypt, empty
    assert [path.name for path in written if path.stat().st_size > 0] == []


def listed_entries(listing: str) -> list[dict[str, str]]:
    """The entries of ``7zz l -slt``, each as its properties."""
    entries = listing.split("\n----------\n", 1)[1].strip().split("\n\n")
    return [dict(line.split(" = ", 1) for line in entry.splitlines() if " = " in line) for entry in entries]


def test_7zip_lists_every_zip_entry_as_aes_256(sevenzip: str, exported_zip: Exported, workdir: Path) -> None:
    result = run_7zip(sevenzip, "l", "-slt", str(exported_zip.path), cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    properties = listed_entries(result.stdout)
    assert [entry["Method"] for entry in properties] == ["AES-256 Deflate", "AES-256 Deflate"]
    assert [entry["Encrypted"] for entry in properties] == ["+", "+"]


def test_7zip_cannot_even_list_a_7z_export_without_the_passphrase(
    sevenzip: str, exported_7z: Exported, workdir: Path
) -> None:
    hidden = run_7zip(sevenzip, "l", "-slt", f"-p{crypto.new_passphrase()}", str(exported_7z.path), cwd=workdir)
    assert hidden.returncode != 0
    assert ".json" not in hidden.stdout
    shown = run_7zip(sevenzip, "l", "-slt", f"-p{exported_7z.passphrase}", str(exported_7z.path), cwd=workdir)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    properties = listed_entries(shown.stdout)
    assert all("7zAES" in entry["Method"] and entry["Encrypted"] == "+" for entry in properties)
    assert len(properties) == 2


AGREED = "Calanques de Cassis au petit matin 2026"


@pytest.mark.parametrize("file_format", ["7z", "zip"])
def test_exports_under_a_partnership_key_open_with_the_agreed_passphrase(
    sevenzip: str, api: dict[str, ApiClient], workdir: Path, file_format: str
) -> None:
    """The 7z key is derived once per partnership and reused: every file still opens with 7-Zip."""
    assert api["rgc"].put("/api/v1/partnerships/13013", {"passphrase": AGREED}).status_code == 200
    for attempt in range(2):
        response = api["referent"].post(f"/api/v1/sheets/{send_fdl2(api)}/exports", {"format": file_format})
        assert response.json["key"] == "partnership" and response.json["passphrase"] is None
        path = workdir / f"{attempt}.{file_format}"
        path.write_bytes(api["referent"].get(response.json["download_url"]).data)
        result = run_7zip(sevenzip, "t", f"-p{AGREED}", str(path), cwd=workdir)
        assert result.returncode == 0, result.stdout + result.stderr
        assert run_7zip(sevenzip, "t", f"-p{crypto.new_passphrase()}", str(path), cwd=workdir).returncode != 0


SEVENZIP_CREATES = {"zip": ("-tzip", "-mem=AES256"), "7z": ("-t7z", "-mhe=on")}


@pytest.mark.parametrize("file_format", sorted(SEVENZIP_CREATES))
def test_an_archive_made_by_7zip_is_imported(
    sevenzip: str, api: dict[str, ApiClient], workdir: Path, file_format: str
) -> None:
    """What a partner does today: encrypt the JSON with 7-Zip, mail it, send the passphrase apart."""
    (workdir / "fiche.json").write_text(json.dumps(fdl2(), ensure_ascii=False), encoding="utf-8")
    made = run_7zip(
        sevenzip, "a", *SEVENZIP_CREATES[file_format], f"-p{AGREED}", f"fiche.{file_format}", "fiche.json", cwd=workdir
    )
    assert made.returncode == 0, made.stdout + made.stderr
    response = api["accompagnateur"].client.post(
        "/api/v1/imports",
        headers={"Authorization": f"Bearer {api['accompagnateur'].token}"},
        data={
            "file": ((workdir / f"fiche.{file_format}").open("rb"), f"fiche.{file_format}"),
            "passphrase": AGREED,
            "kind": "FDL2",
            "recipient": "13013",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    sheet_id = response.get_json()["id"]
    received = api["referent"].get(f"/api/v1/sheets/{sheet_id}").json
    assert received["sheet"] == as_stored(fdl2())
