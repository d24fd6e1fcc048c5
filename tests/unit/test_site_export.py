"""``crier site export``: the status site as static files any web server answers at the same
URLs as ``crier serve`` (issue 18)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import STARTER_CONFIG, CrierConfig
from bot.settings import Settings
from bot.site.build import SiteBuild, build_site
from bot.site.export import CannotExport, export_site
from bot.storage.store import Store
from handlers.main import main
from tests.unit.site_rows import publish_to_site

SITE_URL = "https://status.example.edu/status/"
NOW = datetime(2026, 1, 15, 19, 45, tzinfo=UTC)


def built(store: Store, config: CrierConfig) -> SiteBuild:
    with store.transaction() as session:
        return build_site(session, config=config, now=NOW, site_url=SITE_URL)


def test_pages_become_folders_with_an_index_and_other_files_keep_their_key(
    store: Store, config: CrierConfig, tmp_path: Path
) -> None:
    incident = publish_to_site(store, at=NOW, text="Wi-Fi is down in the library.")
    build = built(store, config)
    out = tmp_path / "public" / "status"  # created, parents too

    written = export_site(build, out)

    expected = {
        "index.html": build.files[""],
        f"incidents/{incident}/index.html": build.files[f"incidents/{incident}"],
        "site.css": build.files["site.css"],
        "feed.atom": build.files["feed.atom"],
        "api/v2/summary.json": build.files["api/v2/summary.json"],
        "api/v2/incidents.json": build.files["api/v2/incidents.json"],
    }
    service_pages = [key for key in build.files if re.fullmatch(r"services/[^/]+", key)]
    assert len(service_pages) == len(config.services)
    for page in service_pages:
        expected[f"{page}/index.html"] = build.files[page]
        expected[f"{page}/feed.atom"] = build.files[f"{page}/feed.atom"]
    on_disk = {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file()
    }
    assert on_disk == {path: file.body for path, file in expected.items()}
    assert len(written) == len(build.files) == len(expected)


def test_a_second_export_replaces_the_files_in_place(
    store: Store, config: CrierConfig, tmp_path: Path
) -> None:
    export_site(built(store, config), tmp_path)
    publish_to_site(store, at=NOW, text="Email is down.")
    export_site(built(store, config), tmp_path)
    assert "Email is down." in (tmp_path / "index.html").read_text()
    assert not [path for path in tmp_path.rglob(".*") if path.is_file()]  # no scratch left


def test_a_file_is_refused_as_the_folder(store: Store, config: CrierConfig, tmp_path: Path) -> None:
    taken = tmp_path / "status"
    taken.write_text("not a folder")
    with pytest.raises(CannotExport, match="is a file, not a folder"):
        export_site(built(store, config), taken)
    assert taken.read_text() == "not a folder"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, store: Store, tmp_path: Path) -> None:
    monkeypatch.setenv("CRIER_DATABASE_URL", database_url)
    monkeypatch.setenv("CRIER_CONFIG", str(STARTER_CONFIG))
    monkeypatch.chdir(tmp_path)


def test_crier_site_export_says_how_many_files_and_where(
    env: None, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_to_site(store, at=NOW, text="Blackboard: cannot log in.")
    out = tmp_path / "site"
    url = "https://status.example.edu/"
    assert main(["site", "export", "--out", str(out), "--url", url]) == 0
    files = sorted(path for path in out.rglob("*") if path.is_file())
    said = capsys.readouterr().out
    assert said == f"Wrote the status site ({len(files)} files) to {out}\n"
    assert "Blackboard: cannot log in." in (out / "index.html").read_text()
    assert f"{url}feed.atom" in (out / "feed.atom").read_text()  # absolute URLs from --url

    # Without --url: where crier serve answers it (CRIER_PUBLIC_URL, channels.site.path).
    assert main(["site", "export", "--out", str(tmp_path / "served")]) == 0
    feed = (tmp_path / "served" / "feed.atom").read_text()
    assert f"{Settings().public_url}/status/feed.atom" in feed
    capsys.readouterr()

    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["site", "export", "--out", str(taken)]) == 2
    assert f"crier: {taken} is a file, not a folder" in capsys.readouterr().err
