"""
Settings for newsarchive, read from the environment.

Development needs no variables at all: DEBUG is on, the database is a SQLite file beside
manage.py and a throwaway secret key is used. Production sets DJANGO_DEBUG=0, which makes
DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS mandatory and turns on the HTTPS hardening that
`manage.py check --deploy` asks for.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no or on/off, not {value!r}.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DJANGO_DEBUG=0 a secret key is required: "
            "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    # Development only: never used once DJANGO_DEBUG=0.
    SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is not set. With DJANGO_DEBUG=0 list the site's host names, "
        "comma-separated, e.g. DJANGO_ALLOWED_HOSTS=archive.example.org."
    )
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sitemaps",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "simple_history",
    "newsarchive.apps.LoginThrottlingConfig",  # axes
    "newsarchive.apps.BackgroundTasksConfig",  # django_tasks_db
    "outbox",
    "capture",
    "articles",
    "moderation",
    "accounts",
    "subscriptions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A NUL or invalid UTF-8 in the path or a query parameter: 400 before any view reads it; a cookie
    # with a NUL is dropped.
    "newsarchive.middleware.InvalidAddressMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that it sees the log-in failures of every view above and answers a lockout with 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsarchive.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "libraries": {"jinja": "newsarchive.jinja2"},
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.context_processors.site",
            ],
        },
    },
    {
        # The home, category and snapshot pages (newsarchive/jinja2.py): a crawler's walk renders them.
        "NAME": "jinja2",
        "BACKEND": "newsarchive.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "newsarchive.jinja2.environment",
            "globals": {
                "capture_count": "articles.templating.capture_count",
                "reprint_count": "articles.templating.reprint_count",
                "subscription_for": "subscriptions.templating.subscription_for",
            },
            "filters": {"strftime": "articles.templating.local_strftime"},
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "newsarchive.wsgi.application"

# SQLite file by default; DATABASE_URL=postgres://user@host:5432/name in production.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while an import writes; IMMEDIATE avoids "database is locked"
    # upgrades from read to write inside a transaction. Connections are kept (DJANGO_CONN_MAX_AGE)
    # as on PostgreSQL: opening one reads the whole schema and runs these pragmas, 1.5 to 2.5 ms at
    # a million snapshots, more than a cached page costs in all.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: it pays off for long analytic queries, not for a page's. At a million
    # snapshots the moderation queue's query spent 1.1 of its 1.6 s compiling (EXPLAIN ANALYZE).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # Parameters bound on the server let psycopg prepare a statement once a connection has run it
    # more than DJANGO_DB_PREPARE_THRESHOLD times (0: never), so PostgreSQL plans a page's queries
    # once per connection instead of on every request: the archive-version read of a cached page
    # costs the server 0.03 ms prepared against 0.10 ms planned each time (pgbench). Behind
    # PgBouncer in transaction mode, prepared statements need its max_prepared_statements (1.21+).
    prepare_threshold = int(os.environ.get("DJANGO_DB_PREPARE_THRESHOLD", "1"))
    if prepare_threshold > 0:
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=prepare_threshold
        )
# A PostgreSQL streaming replica (hot standby) of the primary, for reader pages: see
# newsarchive/replica.py. scripts/pg-replica makes one on this machine for the tests.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    # A replica that does not answer within seconds sends pages to the primary instead of holding them.
    DATABASES["replica"]["OPTIONS"] = DATABASES["default"].get("OPTIONS", {}) | {"connect_timeout": 3}
    # Tests reach the test database through the replica too (it replicates every database).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["newsarchive.replica.ReplicaRouter"]

# Two caches. "default" keeps reader pages and search plans (DJANGO_CACHE_URL); "ratelimit" keeps
# the rate limits' counters (DJANGO_RATELIMIT_CACHE_URL), apart, so that page entries can never
# evict a counter. Local memory by default (one process each); in production point both at Redis,
# shared by the gunicorn workers: the counters in another database with a policy that never evicts
# them (docs/security.md). DJANGO_RATELIMIT_CACHE_URL unset means DJANGO_CACHE_URL (check --deploy
# warns). A Redis that does not answer fails fast (timeouts below): pages are then rendered without
# the cache and rate limits are counted per process (newsarchive/ratelimit.py).
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def cache_from_url(url: str, location: str) -> dict:
    if url.startswith(("redis://", "rediss://")):
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: a Redis that is down costs each request one refused connection (0.3 ms), not
        # redis-py's three retries with backoff (2.5 ms measured).
        options = {**REDIS_TIMEOUTS, "retry": Retry(NoBackoff(), 0)}
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "OPTIONS": options}
    if url:
        raise ImproperlyConfigured(f"A cache URL must start with redis:// or rediss://, not {url!r}.")
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": location}


CACHE_URL = os.environ.get("DJANGO_CACHE_URL", "")
RATELIMIT_CACHE_URL = os.environ.get("DJANGO_RATELIMIT_CACHE_URL", "") or CACHE_URL
CACHES = {
    "default": cache_from_url(CACHE_URL, "newsarchive"),
    "ratelimit": cache_from_url(RATELIMIT_CACHE_URL, "newsarchive-ratelimit"),
}

# Side effects (mail, purges, captures, computed data) are tasks of Django's Tasks framework, stored
# in the database by django-tasks-db in the same transaction as the change that causes them, and run
# by `manage.py db_worker` (started beside the site by `make run`; a service in production). The
# "mail" queue is the outbox's, so a slow capture never holds a receipt back; "capture" holds URL
# captures and uploaded imports (capture/tasks.py).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # "stories": placing snapshots in stories and computing related news (articles.tasks),
        # long batches that must not hold back mail or other side effects.
        "QUEUES": ["default", "mail", "capture", "stories"],
    }
}

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Readers log in with their email at /accounts/login/ (the admin keeps its own log-in page).
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "subscriptions:index"
LOGOUT_REDIRECT_URL = "articles:home"

# Log-in throttling (django-axes): first, it refuses any log-in from a (username, address) pair
# that failed AXES_FAILURE_LIMIT times, before a password is even checked. Attempts are kept in the
# database, so the count holds across workers and restarts; a superuser clears a lockout in the
# admin (Axes → access attempts) or with `manage.py axes_reset_username <name>`.
AUTHENTICATION_BACKENDS = [
    "newsarchive.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("DJANGO_LOGIN_COOLOFF_MINUTES", "60")))
# Per account and address: one address cannot guess a password indefinitely, and nobody elsewhere
# can lock a moderator out by failing on purpose.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "newsarchive.auth.lockout_response"
# The same client address as the removal rate limit counts (newsarchive.ratelimit.client_ip).
AXES_CLIENT_IP_CALLABLE = "newsarchive.ratelimit.client_ip"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Interface in Simplified Chinese, English available; times shown in Asia/Shanghai.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The footer's language links (newsarchive.views.switch_language) keep the choice for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Evidence attached to removal requests: private files, outside STATIC_ROOT and any served URL (the
# storage refuses to make one); moderators download them through the admin only.
EVIDENCE_ROOT = Path(os.environ.get("DJANGO_EVIDENCE_ROOT", BASE_DIR / "private" / "evidence"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "evidence": {"BACKEND": "moderation.storage.PrivateStorage", "OPTIONS": {"location": EVIDENCE_ROOT}},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Mail goes to the console in development and through SMTP in production, configured with DJANGO_EMAIL_HOST, DJANGO_EMAIL_PORT, DJANGO_EMAIL_USER, DJANGO_EMAIL_PASSWORD and DJANGO_EMAIL_USE_TLS.
EMAIL_BACKEND_DEFAULT = "django.core.mail.backends." + ("console" if DEBUG else "smtp") + ".EmailBackend"
MAILERS = {"default": {"BACKEND": os.environ.get("DJANGO_EMAIL_BACKEND", EMAIL_BACKEND_DEFAULT)}}
if MAILERS["default"]["BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("DJANGO_EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("DJANGO_EMAIL_PORT", "587")),
        "username": os.environ.get("DJANGO_EMAIL_USER", ""),
        "password": os.environ.get("DJANGO_EMAIL_PASSWORD", ""),
        "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", True),
        "timeout": 10,
    }
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "newsarchive <noreply@localhost>")
# A message the mail server refuses, or cannot be reached for, is tried again after
# OUTBOX_RETRY_SECONDS, then twice that, and so on (at most six hours apart), OUTBOX_MAX_ATTEMPTS
# times in all (about 8.5 hours with the defaults) before it is marked failed for a person to send again.
OUTBOX_RETRY_SECONDS = int(os.environ.get("OUTBOX_RETRY_SECONDS", "60"))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "10"))

# Snapshots per page on the home and category pages.
ARTICLES_PAGE_SIZE = int(os.environ.get("ARTICLES_PAGE_SIZE", "20"))
# Seconds a reader page rendered for anonymous visitors is kept in the cache; 0 turns the page cache
# off. Any change to the archive makes a new key at once (see articles/caching.py), so this only
# bounds how long unused entries take memory.
ARTICLES_PAGE_CACHE_SECONDS = int(os.environ.get("ARTICLES_PAGE_CACHE_SECONDS", "600"))
# A CDN in front of reader pages: the dotted path of a callable that drops the pages tagged with the
# surrogate keys it is given (articles/purge.py), called by the task worker after every change to
# a snapshot; none by default.
ARTICLES_PURGE_HOOK = os.environ.get("ARTICLES_PURGE_HOOK", "")

# Stories (docs/stories.md): two snapshots are reprints of one article when the Jaccard similarity
# of their texts' shingles is at least STORIES_SIMILARITY (or one is a hard trim of the other, see
# articles.stories.is_reprint); the snapshot page lists up to STORIES_REPRINTS_SHOWN other reprints.
STORIES_SIMILARITY = float(os.environ.get("STORIES_SIMILARITY", "0.5"))
STORIES_REPRINTS_SHOWN = int(os.environ.get("STORIES_REPRINTS_SHOWN", "50"))
# Related news the archive computes for each snapshot (after the crawled related links), and how
# much the archive must grow (0.25: by a quarter) before a list is computed again.
ARTICLES_COMPUTED_RELATED = int(os.environ.get("ARTICLES_COMPUTED_RELATED", "8"))
ARTICLES_RELATED_REFRESH_GROWTH = float(os.environ.get("ARTICLES_RELATED_REFRESH_GROWTH", "0.25"))

# No inline scripts or styles anywhere; everything comes from our own origin.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# How many reverse proxies of ours stand in front of the app, each appending the address it was
# connected from to X-Forwarded-For. 0: clients connect directly and REMOTE_ADDR is theirs. N: the
# client is the N-th address from the right of X-Forwarded-For (what our nearest proxies wrote;
# anything further left came from the client and is not trusted). Used by the rate limits.
TRUSTED_PROXY_COUNT = int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("DJANGO_TRUSTED_PROXY_COUNT must be 0 or more.")

if not DEBUG:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The header alone submits nothing; joining the browsers' preload list is a separate, manual step.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
    # Extraction libraries warn about every page they find nothing in; captures report that themselves.
    "loggers": {name: {"level": "ERROR"} for name in ("trafilatura", "htmldate", "courlan")},
}

# The public address of the site, for absolute links written outside a request (exports, emails).
# `check --deploy` warns while it is unset or points at this machine (outbox/checks.py).
SITE_URL = os.environ.get("DJANGO_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_URL_IS_SET = bool(os.environ.get("DJANGO_SITE_URL"))

# Imports: the largest body accepted, in bytes of UTF-8, and the records written per transaction.
IMPORT_MAX_BODY_BYTES = int(os.environ.get("IMPORT_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
IMPORT_BATCH_SIZE = int(os.environ.get("IMPORT_BATCH_SIZE", "1000"))

# Captures (capture/): the crawler's name (its robots.txt token, in its User-Agent, and the
# collector of what it captures) and where its operators are reached; politeness and limits; where
# raw HTTP responses are kept as WARC files (articles/warc.py says why files); whether a new
# snapshot from a captured URL is published at once or hidden until an editor has looked at it.
CAPTURE_CRAWLER_NAME = os.environ.get("CAPTURE_CRAWLER_NAME", "newsarchive")
CAPTURE_CONTACT_EMAIL = os.environ.get("CAPTURE_CONTACT_EMAIL", "crawler@localhost")
CAPTURE_HOST_DELAY_SECONDS = float(os.environ.get("CAPTURE_HOST_DELAY_SECONDS", "2"))
CAPTURE_CONNECT_TIMEOUT = float(os.environ.get("CAPTURE_CONNECT_TIMEOUT", "5"))
CAPTURE_READ_TIMEOUT = float(os.environ.get("CAPTURE_READ_TIMEOUT", "20"))
CAPTURE_MAX_BYTES = int(os.environ.get("CAPTURE_MAX_BYTES", str(5 * 1024 * 1024)))
CAPTURE_MAX_REDIRECTS = int(os.environ.get("CAPTURE_MAX_REDIRECTS", "5"))
# Loopback, private and link-local addresses are never fetched unless this is set (tests against a
# server on 127.0.0.1 set it); checked after DNS resolution and again on every redirect.
CAPTURE_ALLOW_PRIVATE_ADDRESSES = env_bool("CAPTURE_ALLOW_PRIVATE_ADDRESSES", False)
CAPTURE_NEW_SNAPSHOT_STATUS = os.environ.get("CAPTURE_NEW_SNAPSHOT_STATUS", "hidden")
if CAPTURE_NEW_SNAPSHOT_STATUS not in ("hidden", "published"):
    raise ImproperlyConfigured("CAPTURE_NEW_SNAPSHOT_STATUS must be hidden or published.")
CAPTURE_DEFAULT_CATEGORY = os.environ.get("CAPTURE_DEFAULT_CATEGORY", "未分类")
CAPTURE_WARC_ROOT = Path(os.environ.get("CAPTURE_WARC_ROOT", BASE_DIR / "private" / "warc"))
# Files editors upload to import (JSON Lines, saved pages, WARC), kept until the import has run.
CAPTURE_UPLOAD_ROOT = Path(os.environ.get("CAPTURE_UPLOAD_ROOT", BASE_DIR / "private" / "uploads"))

# Removal requests: hours until a decision is due (24: the Chinese regulator's figure for prompt
# removal), days a dispute waits before the snapshots come back (0: at once, 条例 art. 17), days a
# requester has to answer a question before the request is closed, URLs per request, evidence
# files, and requests per address per hour (form and API together).
TAKEDOWN_DUE_HOURS = int(os.environ.get("TAKEDOWN_DUE_HOURS", "24"))
TAKEDOWN_RESTORE_AFTER_DAYS = int(os.environ.get("TAKEDOWN_RESTORE_AFTER_DAYS", "15"))
# Hours between an approval and the withholding taking effect, during which the snapshots' sources
# are told and may answer (appeal); 0: at once.
TAKEDOWN_CHANGES_WINDOW_HOURS = int(os.environ.get("TAKEDOWN_CHANGES_WINDOW_HOURS", "0"))
TAKEDOWN_INFO_DAYS = int(os.environ.get("TAKEDOWN_INFO_DAYS", "14"))
if TAKEDOWN_INFO_DAYS < 1:
    raise ImproperlyConfigured("TAKEDOWN_INFO_DAYS must be at least 1: a requester needs time to answer.")
TAKEDOWN_MAX_URLS = int(os.environ.get("TAKEDOWN_MAX_URLS", "50"))
# Works one notice may claim, each with its own URLs (the URL cap counts them all together).
TAKEDOWN_MAX_WORKS = 10
# Risk flags of the moderators' queue: a notice of this many URLs or more is large; a requester with
# this many rejected requests (or a warning) is a repeat notifier; a source with this many decisions
# withholding its snapshots is a repeat infringer (flagged on the request and in its record).
TAKEDOWN_LARGE_NOTICE_URLS = int(os.environ.get("TAKEDOWN_LARGE_NOTICE_URLS", "10"))
TAKEDOWN_REPEAT_REQUESTER_REJECTIONS = int(os.environ.get("TAKEDOWN_REPEAT_REQUESTER_REJECTIONS", "3"))
TAKEDOWN_REPEAT_INFRINGER_THRESHOLD = int(os.environ.get("TAKEDOWN_REPEAT_INFRINGER_THRESHOLD", "3"))
# Days after a decision within which the requester or a snapshot's source may appeal it (DSA art.
# 20(1): at least six months).
TAKEDOWN_APPEAL_DAYS = int(os.environ.get("TAKEDOWN_APPEAL_DAYS", "183"))
if TAKEDOWN_APPEAL_DAYS < 183:
    raise ImproperlyConfigured("TAKEDOWN_APPEAL_DAYS must be at least 183: DSA art. 20 gives six months.")
TAKEDOWN_MAX_FILES = 5
TAKEDOWN_MAX_FILE_BYTES = int(os.environ.get("TAKEDOWN_MAX_FILE_BYTES", str(10 * 1024 * 1024)))
TAKEDOWN_RATE_LIMIT = int(os.environ.get("TAKEDOWN_RATE_LIMIT", "10"))
# Removal requests (so receipts) to one requester email address per hour, whatever the client.
TAKEDOWN_RECIPIENT_RATE_LIMIT = int(os.environ.get("TAKEDOWN_RECIPIENT_RATE_LIMIT", "5"))
TAKEDOWN_RATE_WINDOW_SECONDS = 3600
# Reader accounts: mail sent by sign-up, new confirmation links and password resets, at most
# ACCOUNTS_MAIL_RATE_LIMIT per client address and ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT per email
# address in each window.
ACCOUNTS_MAIL_RATE_LIMIT = int(os.environ.get("ACCOUNTS_MAIL_RATE_LIMIT", "10"))
ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT = int(os.environ.get("ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT", "3"))
ACCOUNTS_MAIL_RATE_WINDOW_SECONDS = 3600
# Subscriptions: how many one reader may have (each keyword costs a full-text query on their
# page), and the most snapshots listed in one digest email (the rest are on their page).
SUBSCRIPTIONS_MAX_PER_READER = int(os.environ.get("SUBSCRIPTIONS_MAX_PER_READER", "50"))
SUBSCRIPTIONS_DIGEST_MAX_ITEMS = int(os.environ.get("SUBSCRIPTIONS_DIGEST_MAX_ITEMS", "50"))

# Where moderators are reached, named in decisions and on the transparency page.
MODERATION_CONTACT_EMAIL = os.environ.get("MODERATION_CONTACT_EMAIL", "takedown@localhost")
