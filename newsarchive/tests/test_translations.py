"""The Chinese catalogue is the source of the translations: every interface string the code marks
has a Chinese translation there, none is a guess (fuzzy), and the compiled catalogue is current."""

import shutil
import tempfile
from pathlib import Path

import polib
from django.conf import settings
from django.core.management import call_command
from django.test import SimpleTestCase, override_settings

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def entries_needing_work(catalogue: polib.POFile) -> list[str]:
    return [
        f"{entry.occurrences[0][0] if entry.occurrences else '?'}: {entry.msgid!r}"
        + (" (fuzzy)" if "fuzzy" in entry.flags else " (untranslated)")
        for entry in catalogue
        if not entry.obsolete and (not entry.translated() or "fuzzy" in entry.flags)
    ]


class CatalogueTests(SimpleTestCase):
    def test_every_string_the_code_marks_has_a_chinese_translation(self):
        if shutil.which("xgettext") is None:
            self.fail("GNU gettext is needed to read the code's strings: apt-get install gettext")
        with tempfile.TemporaryDirectory(prefix="newsarchive-locale-") as tmp:
            copy = Path(tmp) / "locale"
            shutil.copytree(CATALOGUE.parents[2], copy)
            # What `make messages` does, into a copy: the strings the code marks today, merged with
            # the catalogue's translations.
            with override_settings(LOCALE_PATHS=[copy]):
                call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, add_location="file", verbosity=0)
            merged = polib.pofile(str(copy / "zh_Hans" / "LC_MESSAGES" / "django.po"))

        self.assertEqual(entries_needing_work(merged), [], "translate these in django.po, then run `make messages`")
        # The Jinja2 templates' `_("…")` strings are read too (newsarchive/jinja2.py), and the plural
        # forms they take from Python.
        found_in = {entry.msgid: {path for path, _ in entry.occurrences} for entry in merged}
        self.assertIn("templates/jinja2/articles/snapshot_detail.html", found_in["More news about %(category)s"])
        self.assertIn("templates/jinja2/layout/header.html", found_in["Skip to content"])
        self.assertIn("articles/templating.py", found_in["%(counter)s capture"])

    def test_the_compiled_catalogue_holds_what_the_source_says(self):
        source = polib.pofile(str(CATALOGUE))
        compiled = polib.mofile(str(CATALOGUE.with_suffix(".mo")))
        translated = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in source if e.translated()}
        in_mo = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in compiled if e.msgid}
        self.assertEqual(in_mo, translated, "run `make messages` to compile the catalogue")
