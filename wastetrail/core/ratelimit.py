"""Throttling the public doors (no login): who is asking, and how often they may.

``client_key(request)`` names a client by a keyed hash of its address, so that the table of
counters (and the ``client_key`` columns of public reports) never holds an address. Behind a
reverse proxy every request arrives from the proxy; with ``TRUSTED_PROXY_COUNT = n`` the client is
the address the outermost trusted proxy saw, the ``n``-th ``X-Forwarded-For`` hop from the right.
The left-most hop is what the client itself wrote and would let anyone pick a fresh key per
request; without the setting (the default) the header is ignored.

``Limit`` is a fixed-window counter. The counters live in the database, not in Django's cache:
the settings configure no shared cache (each web process would count alone in local memory), and
every deployment already has the database. One conditional ``UPDATE`` (or an ``INSERT`` for the
window's first hit) per counted request, on a unique (scope, key, window) row, is atomic on both
SQLite and PostgreSQL, so parallel requests cannot slip past the limit together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

# Old windows are deleted when a new window starts for any key; a day covers every limit here.
KEEP_WINDOWS_FOR = dt.timedelta(days=2)


class RateLimitCounter(models.Model):
    """Requests counted for one (scope, client or object key) in one fixed time window."""

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "core"
        constraints = [models.UniqueConstraint(fields=["scope", "key", "window_start"],
                                               name="ratelimit_one_row_per_window")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key[:8]}@{self.window_start:%Y-%m-%d %H:%M} = {self.count}"


def _client_address(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        return remote  # the header did not pass through every trusted proxy: do not believe it
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def keyed_hash(scope: str, value: str) -> str:
    """64 hex characters; without the server's secret nobody can tell which value it came from."""
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), f"{scope}:{value}".encode(), hashlib.sha256).hexdigest()


def _client_network(address: str) -> str:
    """An IPv6 client is its /64: one subscriber gets a whole /64 and could take a fresh address
    (and a fresh allowance) per request otherwise."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
        return str(parsed.ipv4_mapped)
    return f"{ipaddress.ip_network(f'{parsed}/64', strict=False).network_address}/64"


def client_key(request: HttpRequest) -> str:
    return keyed_hash("client", _client_network(_client_address(request)))


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` counted requests per ``scope`` and key in each ``window_seconds``."""

    scope: str
    limit: int
    window_seconds: int

    def window_start(self, now: dt.datetime) -> dt.datetime:
        epoch = int(now.timestamp())
        return dt.datetime.fromtimestamp(epoch - epoch % self.window_seconds, tz=dt.UTC)

    def retry_at(self, now: dt.datetime) -> dt.datetime:
        return self.window_start(now) + dt.timedelta(seconds=self.window_seconds)

    def count(self, key: str, now: dt.datetime | None = None) -> int:
        now = now or timezone.now()
        row = RateLimitCounter.objects.filter(scope=self.scope, key=key, window_start=self.window_start(now))
        return row.values_list("count", flat=True).first() or 0

    def exceeded(self, key: str, now: dt.datetime | None = None) -> bool:
        """Whether the key has used up this window (checked before doing the work)."""
        return self.count(key, now) >= self.limit

    def refund(self, key: str, now: dt.datetime | None = None) -> None:
        """Give back one counted request of this window (a lookup that turned out right)."""
        now = now or timezone.now()
        RateLimitCounter.objects.filter(scope=self.scope, key=key, window_start=self.window_start(now),
                                        count__gt=0).update(count=F("count") - 1)

    def hit(self, key: str, now: dt.datetime | None = None) -> int:
        """Count one request; the window's count including it."""
        now = now or timezone.now()
        start = self.window_start(now)
        rows = RateLimitCounter.objects.filter(scope=self.scope, key=key, window_start=start)
        with transaction.atomic():
            if not rows.update(count=F("count") + 1):
                try:
                    with transaction.atomic():  # savepoint: a parallel first hit may insert first
                        RateLimitCounter.objects.create(scope=self.scope, key=key, window_start=start, count=1)
                except IntegrityError:
                    rows.update(count=F("count") + 1)
                else:
                    RateLimitCounter.objects.filter(window_start__lt=now - KEEP_WINDOWS_FOR).delete()
        return rows.values_list("count", flat=True).first() or 0
