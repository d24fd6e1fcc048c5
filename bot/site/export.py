"""The status site as static files, for any web server or CDN (``crier site export``).

A page keyed ``incidents/12`` is written as ``incidents/12/index.html`` (``""`` as
``index.html``), so a web server answers ``…/incidents/12/`` with it, as ``crier serve`` does;
every other file (``site.css``, ``feed.atom``, ``api/v2/summary.json``) keeps its key::

    written = export_site(build, Path("public/status"))
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from bot.site.build import SiteBuild, SiteFile


class CannotExport(Exception):
    """The folder cannot take the site; the message says why, for the person who ran it."""


def exported_path(key: str, file: SiteFile) -> PurePosixPath:
    """Where the file with ``key`` goes, relative to the export's folder."""
    path = PurePosixPath(key)
    if file.content_type.startswith("text/html"):
        return path / "index.html"
    return path


def export_site(build: SiteBuild, out: Path) -> list[Path]:
    """Write every file of ``build`` under ``out`` (created if missing) and return their paths.

    Each file is replaced whole (written aside, then renamed), so a web server serving ``out``
    while it is exported again never sends half a page. Files already there that the site no
    longer has are left alone."""
    if out.exists() and not out.is_dir():
        raise CannotExport(f"{out} is a file, not a folder: give --out a folder")
    out.mkdir(parents=True, exist_ok=True)
    root = out.resolve()
    written = []
    for key, file in sorted(build.files.items()):
        target = root / exported_path(key, file)
        # Keys come from service slugs in crier.yml: none may point outside the folder.
        if ".." in PurePosixPath(key).parts or not target.resolve().is_relative_to(root):
            raise CannotExport(f"the site's file {key!r} would be written outside {out}")
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, file.body)
        written.append(target)
    return written


def _replace(target: Path, body: bytes) -> None:
    handle, scratch = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as scratch_file:
            scratch_file.write(body)
        os.chmod(scratch, 0o644)  # readable by the web server, as a plain copy would be
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
