"""Signals other apps listen to, so that manifests never imports them.

``collection_manifest_closed`` is sent inside the closing transaction of a manifest whose source
is a stacking point's collection (never for a project's load): the stacking app marks the
collection done and reopens the point in the same transaction (stacking/apps.py connects it).
Arguments: ``manifest`` (the locked manifest), ``actor`` (who closed it).
"""

from __future__ import annotations

from django.dispatch import Signal

collection_manifest_closed = Signal()
