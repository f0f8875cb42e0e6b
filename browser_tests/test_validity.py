"""The Nu HTML Checker (vnu.jar, `make vnu` installs it) on every public page as served: no error.
All pages go to one JVM, which takes seconds to start."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from .conftest import OUTPUT
from .pages import build_archive, slug, visit_all

VNU_JAR = Path(os.environ.get("VNU_JAR", settings.BASE_DIR / ".tools/vnu/node_modules/vnu-jar/build/dist/vnu.jar"))


def run_vnu(files: list[Path]) -> list[dict]:
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        pytest.fail(f"The Nu HTML Checker needs Java 11+ and {VNU_JAR}: run `make vnu`.")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [java, "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stderr)["messages"]


def test_every_public_page_is_valid_html(journey, settings, tmp_path):
    archive = build_archive()
    page = journey.person()
    files = []
    for name, html in visit_all(page, archive, settings):
        path = tmp_path / f"{len(files):02d}-{slug(name)}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)
    messages = run_vnu(files)
    # "non-document-error": a file the checker could not read or parse at all counts as an error too.
    errors = [
        f"{Path(m.get('url', '?')).name}:{m.get('lastLine')}: {m['message']}"
        for m in messages
        if m["type"] in {"error", "non-document-error"}
    ]
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "vnu.json").write_text(
        json.dumps({"pages": [f.name for f in files], "messages": messages}, ensure_ascii=False, indent=1)
    )
    assert len(files) >= 46
    assert errors == []


def test_the_checker_does_report_errors(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html lang=en><title>x</title><p><div>block in p</p></span>", encoding="utf-8")
    assert any(m["type"] == "error" for m in run_vnu([broken]))
