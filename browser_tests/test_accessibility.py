"""axe-core on every public page and form (pages.py), at desktop and phone widths: no serious or
critical violation. The full results are written to test-output/axe-<width>.json."""

import json

import pytest
from axe_playwright_python.sync_playwright import Axe

from .conftest import DESKTOP, OUTPUT, PHONE
from .pages import build_archive, visit_all

BLOCKING = {"serious", "critical"}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_page_has_a_serious_or_critical_accessibility_violation(journey, settings, viewport):
    archive = build_archive()
    page = journey.person(viewport=viewport)
    axe = Axe()
    report, blocking = {}, {}
    for name, _html in visit_all(page, archive, settings):
        results = axe.run(
            page,
            options={
                "resultTypes": ["violations"],
                "runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
            },
        )
        violations = results.response["violations"]
        report[name] = {
            v["id"]: {"impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in violations
        }
        found = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in BLOCKING
        ]
        if found:
            blocking[name] = found
            journey.step(f"axe {name}", page)
    OUTPUT.mkdir(exist_ok=True)
    width = "desktop" if viewport == DESKTOP else "phone"
    (OUTPUT / f"axe-{width}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    assert len(report) >= 46
    assert blocking == {}


def test_the_checker_does_report_violations(journey):
    """So that a run finding nothing means the pages are clean, not that axe did not run."""
    page = journey.person()
    page.set_content('<html><body><img src="x.png"><input type="text"><a href="/"></a></body></html>')
    violations = {v["id"]: v["impact"] for v in Axe().run(page).response["violations"]}
    assert violations["image-alt"] == "critical"
    assert violations["label"] == "critical"
    assert violations["link-name"] == "serious"
