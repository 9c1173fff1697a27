"""Settings, all read from the environment.

One module, strict helpers: a bad value stops the process at start-up with a message naming
the variable, rather than surfacing later as a confusing error.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from wastetrail.dburl import parse_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("WASTETRAIL_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Tests and the local demo may run without a secret; a deployed instance may not.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-debug-only-key-do-not-deploy"
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (use DEBUG=1 for local development)"
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "wastetrail.core",
    "wastetrail.accounts",
    "wastetrail.registry",
    "wastetrail.permits",
    "wastetrail.plans",
    "wastetrail.manifests",
    "wastetrail.telemetry",
    "wastetrail.stacking",
    "wastetrail.complaints",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "wastetrail.urls"
WSGI_APPLICATION = "wastetrail.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wastetrail.core.context_processors.platform",
                "wastetrail.accounts.context_processors.navigation",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    # The embedded default: one SQLite file under var/, created on first use.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": parse_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'wastetrail.sqlite3'}"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Argon2id first: new and re-saved passwords use it; the others only verify old hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling: this many failures for one username or one address inside the window
# locks further attempts until the window has passed.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages from npm are built into wastetrail/static/build by `make setup`.
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"

# Map base layer: offline by default (government intranets); set a tile URL template such as
# https://tiles.example.gov.cn/{z}/{x}/{y}.png to draw one under the bundled district boundaries.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")

# TrueType CJK font embedded in manifest PDFs; empty = the first common system font found
# (docs/documents.md).
PDF_CJK_FONT = os.environ.get("PDF_CJK_FONT", "")

# --- Telemetry (docs/gateway.md) ------------------------------------------------------------
def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Where `wastetrail gateway` listens for JT/T 808 terminals.
JT808_HOST = os.environ.get("JT808_HOST", "127.0.0.1")
JT808_PORT = _env_int("JT808_PORT", 7808)
# Caps that keep one misbehaving terminal (or a flood of them) from hurting the rest.
JT808_MAX_CONNECTIONS = _env_int("JT808_MAX_CONNECTIONS", 15000)
JT808_MAX_FRAME_BYTES = _env_int("JT808_MAX_FRAME_BYTES", 4096)  # escaped, on the wire
JT808_MAX_JUNK_BYTES = _env_int("JT808_MAX_JUNK_BYTES", 4096)  # bytes outside frames before closing
JT808_MAX_PENDING_REPORTS = _env_int("JT808_MAX_PENDING_REPORTS", 256)  # unacknowledged, per connection
# Seconds: a connection must authenticate this soon; an authenticated one may stay silent this long.
JT808_AUTH_TIMEOUT = _env_int("JT808_AUTH_TIMEOUT", 30)
JT808_IDLE_TIMEOUT = _env_int("JT808_IDLE_TIMEOUT", 180)
# Accept frames whose checksum is wrong (some vendors' firmware gets it wrong); they are counted either way.
JT808_ACCEPT_BAD_CHECKSUM = os.environ.get("JT808_ACCEPT_BAD_CHECKSUM", "0") == "1"
# Gateway -> storage hand-off: "inproc" (one machine) or "nats" (JetStream; `wastetrail processor` stores).
# Public report form: how many reports one connection may send (work orders, fill reports).
PUBLIC_REPORTS_PER_HOUR = int(os.environ.get("PUBLIC_REPORTS_PER_HOUR", "5"))
PUBLIC_REPORTS_PER_DAY = int(os.environ.get("PUBLIC_REPORTS_PER_DAY", "20"))
# The public pages' other throttles (core/ratelimit.py, complaints/public/views.py): wrong tracking
# codes per client and per tracking number, report-form posts and stacking-point reports per client.
PUBLIC_TRACK_FAILURES_PER_HOUR = env_int("PUBLIC_TRACK_FAILURES_PER_HOUR", 10)
PUBLIC_REPORT_POSTS_PER_HOUR = env_int("PUBLIC_REPORT_POSTS_PER_HOUR", 30)
PUBLIC_FILL_REPORTS_PER_HOUR = env_int("PUBLIC_FILL_REPORTS_PER_HOUR", 10)
# Reverse proxies in front of the web processes that append the client to X-Forwarded-For; 0 (the
# default) ignores the header, which any client can write. The proxy must also cap the request
# body (the report form refuses more than 6 photos x 8 MB + 1 MB before reading it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Text messages (tracking codes, answers): "log", "memory" (tests) or a class path (core/sms.py).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")

# The hotline's result feed holds back changes younger than this, so a transaction that commits
# late cannot slip behind a cursor already handed out (docs/hotline.md).
HOTLINE_FEED_SETTLE_SECONDS = int(os.environ.get("HOTLINE_FEED_SETTLE_SECONDS", "5"))

TELEMETRY_HANDOFF = os.environ.get("TELEMETRY_HANDOFF", "inproc")
NATS_URL = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
NATS_POSITIONS_STREAM = os.environ.get("NATS_POSITIONS_STREAM", "WASTETRAIL_POSITIONS")
# Gateways publish to <prefix>.<gateway id>; the stream holds <prefix>.>.
NATS_POSITIONS_SUBJECT = os.environ.get("NATS_POSITIONS_SUBJECT", "wastetrail.positions")
# Days of positions kept; older daily partitions (PostgreSQL) or rows (SQLite) are dropped by
# `wastetrail positions prune`. 0 keeps everything.
POSITION_RETENTION_DAYS = _env_int("POSITION_RETENTION_DAYS", 400)
# A vehicle is shown offline this many seconds after its last frame when no disconnect was seen.
VEHICLE_OFFLINE_AFTER = _env_int("VEHICLE_OFFLINE_AFTER", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# In debug (the demo and tests) serve static files straight from the app folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
