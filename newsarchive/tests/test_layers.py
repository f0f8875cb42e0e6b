"""The apps depend in one direction (CONTRIBUTING.md): `articles` is the ground floor and imports
no other app of ours, `outbox` stands beside it, `capture` and `moderation` build on them, and
`accounts` and `subscriptions` on those. What several apps share lives in `newsarchive/`, which
imports no app but in its entry points (settings, URLs, WSGI/ASGI). An import against that order,
at the top of a module or inside a function, fails this test; so does an app it does not know."""

import ast
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

ROOT = Path(settings.BASE_DIR)
# app → the apps of ours it may import (besides itself and the newsarchive package).
ALLOWED = {
    "articles": set(),
    "outbox": set(),
    "capture": {"articles"},
    "moderation": {"articles", "outbox"},
    "accounts": {"outbox"},
    "subscriptions": {"articles", "outbox", "accounts"},
    "newsarchive": set(),
}
ENTRY_POINTS = {"newsarchive/settings.py", "newsarchive/urls.py", "newsarchive/wsgi.py", "newsarchive/asgi.py"}


def ours() -> set[str]:
    return {path.parent.name for path in ROOT.glob("*/apps.py")} | {"newsarchive"}


def imported_packages(source: str) -> set[str]:
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def modules():
    """(app, path, source) of every module of the apps' code: not their tests, which exercise the
    site as a whole, nor migrations, which are history."""
    for app in sorted(ours()):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or "/tests/" in relative or relative in ENTRY_POINTS:
                continue
            yield app, relative, path.read_text(encoding="utf-8")


def upward_imports(found) -> list[str]:
    apps = ours()
    wrong = []
    for app, relative, source in found:
        for package in sorted(imported_packages(source) & apps - {app, "newsarchive"}):
            if package not in ALLOWED.get(app, set()):
                wrong.append(f"{relative} imports {package}")
    return wrong


class LayerTests(SimpleTestCase):
    def test_every_app_of_ours_has_its_place_in_the_order(self):
        self.assertEqual(ours() - set(ALLOWED), set())

    def test_no_app_imports_one_above_it(self):
        self.assertEqual(upward_imports(modules()), [])

    def test_the_rule_catches_an_upward_import_even_inside_a_function(self):
        probe = ("articles", "articles/probe.py", "def f():\n    from moderation import services\n")
        allowed = ("moderation", "moderation/probe.py", "import articles.models\nfrom outbox import services\n")
        self.assertEqual(upward_imports([probe, allowed]), ["articles/probe.py imports moderation"])
