"""Signals other apps listen to, so that manifests never imports them.

``collection_manifest_closed`` is sent inside the closing transaction of a manifest whose source
is a stacking point's collection (never for a project's load): the stacking app marks the
collection done and reopens the point in the same transaction (stacking/apps.py connects it).
Arguments: ``manifest`` (the locked manifest), ``actor`` (who closed it).

``collection_manifest_redirected`` is sent inside the redirect's transaction when a collection's
refused load is sent on under a new manifest: the stacking app adds it to the collection's
manifest trail (which locates it for a district bureau). Arguments: ``manifest`` (the new one),
``parent`` (the refused one).
"""

from __future__ import annotations

from django.dispatch import Signal

collection_manifest_closed = Signal()
collection_manifest_redirected = Signal()
