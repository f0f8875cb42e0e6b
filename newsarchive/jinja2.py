"""Jinja2 for the pages a crawler's walk renders: the home page, category pages and snapshot pages.

Those pages miss the page cache whenever a visitor opens one nobody opened lately, and Django's
template engine was most of their CPU: it resolves each variable and renders each node at run time,
where Jinja2 compiles a template to Python once (docs/performance.md, "A crawler's walk"). The rest
of the site keeps Django's templates: `templates/base.html` draws the same header and footer as
`templates/jinja2/base.html`, through `{% jinja %}` (below: the "jinja" library of Django's templates).

The environment behaves as Django's templates do where the pages rely on it: an undefined name or
attribute is empty, a template's last newline is kept, dates are shown in the current time zone,
strings are translated by Django's gettext. Translated strings are written `_("…")` (followed by
`|format(name=…)` when they take values), which `makemessages` reads from these templates as it does
from Django's; plural forms come from Python (`articles.templating`), where it finds `ngettext`.
"""

from functools import lru_cache
from types import SimpleNamespace

import jinja2
from django import template
from django.conf import settings
from django.template import engines
from django.template.backends import jinja2 as backend
from django.template.backends.utils import csrf_input_lazy, csrf_token_lazy
from django.template.defaultfilters import urlencode
from django.template.defaulttags import querystring as django_querystring
from django.templatetags.static import static
from django.test.signals import template_rendered
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone
from django.utils.translation import trans_real

from . import fragments

ENGINE = "jinja2"  # its name in settings.TEMPLATES
TIMEZONE = "_timezone"  # the current time zone, in the context of a page (`Template.render`)
register = template.Library()  # the "jinja" library of Django's templates


def url(name: str, *args, **kwargs) -> str:
    """`{% url %}`, each address reversed once per process, script prefix and URLconf: a page asks for
    ten (the layout's links, its feed, a snapshot's captures), at 20 µs a `reverse`. The site's
    addresses do not depend on the language (no i18n_patterns)."""
    return _reversed(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, name, args, tuple(kwargs.items()))


@lru_cache(maxsize=1024)
def _reversed(script_prefix: str, urlconf: str, name: str, args: tuple, kwargs: tuple) -> str:
    return reverse(name, urlconf=urlconf, args=args or None, kwargs=dict(kwargs) or None)


@jinja2.pass_context
def querystring(context, **changes) -> str:
    """`{% querystring %}`: the request's query string with `changes` (None removes a key)."""
    return django_querystring(SimpleNamespace(request=context["request"]), **changes)


def fragment(name: str, *key, caller) -> str:
    """`{% call fragment(NAME, KEY, …) %}…{% endcall %}`: the part kept (newsarchive/fragments.py);
    a false first key renders the part every time."""
    if not key[0]:
        return caller()
    return fragments.kept((f"jinja:{name}", *key), caller)


def languages() -> list[dict]:
    """`{% get_language_info_list %}` of the site's languages: code, name_local."""
    return [translation.get_language_info(code) for code, _ in settings.LANGUAGES]


def environment(*, globals=None, filters=None, **options) -> jinja2.Environment:
    """The environment of settings.TEMPLATES' "jinja2" engine; its OPTIONS name the apps' own globals and
    filters by dotted path (this package imports no app)."""
    options["undefined"] = jinja2.ChainableUndefined  # `category.pk` with no category: empty, as in Django
    options["keep_trailing_newline"] = True
    options.pop("autoescape", None)  # always on, whatever the settings say
    env = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(translation.gettext, translation.ngettext, newstyle=False)
    env.globals.update(
        url=url,
        static=static,
        querystring=querystring,
        fragment=fragment,
        languages=languages,
        get_language=translation.get_language,
        **{name: import_string(path) for name, path in (globals or {}).items()},
    )
    env.filters.update(urlencode=urlencode, **{name: import_string(path) for name, path in (filters or {}).items()})
    return env


class Template(backend.Template):
    """Tells the test client what it rendered and with what (`response.context`, `assertTemplateUsed`),
    as Django's own templates do; a signal with no receiver costs nothing outside tests."""

    @property
    def name(self) -> str:
        return self.template.name

    def render(self, context=None, request=None):
        context = {} if context is None else context
        # The language and the time zone, each a context-local lookup, once a page instead of once a
        # string or a time: a page translates thirty strings and shows up to forty times.
        if settings.USE_I18N:
            gettext = trans_real.catalog().gettext
            context |= {"_": gettext, "gettext": gettext}
        context[TIMEZONE] = get_current_timezone()
        rendered = super().render(context, request)  # adds the request and the context processors' names
        if template_rendered.receivers:
            template_rendered.send(sender=self, template=self, context=context)
        return rendered


class Jinja2(backend.Jinja2):
    def from_string(self, template_code):
        return Template(self.env.from_string(template_code), self)

    def get_template(self, template_name):
        found = super().get_template(template_name)
        return Template(found.template, self)


@register.simple_tag(takes_context=True)
def jinja(context, template_name: str, **values):
    """`{% jinja "NAME" key=value … %}`: a Jinja2 template (templates/jinja2/) inside a Django one, with
    its context and `values`: the layout's header and footer, the subscribe control."""
    names = context.flatten() | values
    request = names.get("request")
    if request is not None:
        names |= {"csrf_input": csrf_input_lazy(request), "csrf_token": csrf_token_lazy(request)}
    return mark_safe(engines[ENGINE].get_template(template_name).render(names))
