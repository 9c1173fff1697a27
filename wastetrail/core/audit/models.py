"""The audit trail: append-only, hash-chained.

Each row's hash covers its own content and the previous row's hash, so changing, inserting or
deleting a row breaks the chain at that point. Database triggers (see migration 0002) refuse
UPDATE and DELETE; the model refuses them too so that ORM code fails early with a clear error.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit row."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: D102 - see class docstring
        raise AppendOnlyError("audit entries are append-only")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", verbose_name=_("actor"),
    )
    # The label keeps the record readable even where the actor is a system job.
    actor_label = models.CharField(_("actor label"), max_length=150)
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", verbose_name=_("organisation"),
    )
    action = models.CharField(_("action"), max_length=80)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64)
    data = models.JSONField(_("data"), default=dict)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are append-only")
