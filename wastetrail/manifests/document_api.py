"""API for documents: a manifest's PDF and the three ledgers (project, transport company,
receiving site) as xlsx or csv. Same rules as the pages (see ``ledgers``): an invisible object is
404, a visible one whose ledger is not the caller's is 403, a bad format or period is 422 with
the parameter named, and no file is written."""

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from wastetrail.api import request_actor
from wastetrail.manifests import ledgers
from wastetrail.manifests.document_views import ledger_response, manifest_for_pdf, pdf_response
from wastetrail.manifests.ledgers import ScopeKind

router = Router(tags=["documents"])

BINARY = {200: None}


class LedgerQuery(Schema):
    # Plain strings so that a malformed value gets our message under its own name (422).
    format: str = Field("xlsx", description="xlsx or csv")
    from_: str = Field("", alias="from", description="First local date of issue, YYYY-MM-DD (optional)")
    to: str = Field("", description="Last local date of issue, YYYY-MM-DD, inclusive (optional)")
    status: str = Field("", description="Only manifests in this status (optional)")


def _ledger(request: HttpRequest, kind: str, pk: int, query: LedgerQuery) -> HttpResponse:
    actor = request_actor(request)
    scope = ledgers.ledger_scope(actor=actor, kind=kind, pk=pk)
    ledger = ledgers.ledger_request(scope=scope, start=query.from_, end=query.to, status=query.status,
                                    format=query.format)
    return ledger_response(actor, ledger)


@router.get("/manifests/{pk}/pdf", response=BINARY, openapi_extra={
    "responses": {200: {"description": "The manifest as an A4 PDF", "content": {"application/pdf": {}}}}})
def manifest_pdf(request, pk: int):
    """The printable manifest (every GD 联单办法 Art. 4 item, receipt, signatures, QR code)."""
    manifest, redirects = manifest_for_pdf(request_actor(request), pk)
    return pdf_response(manifest, redirects, request.build_absolute_uri("/"))


LEDGER_DOC = {"responses": {200: {"description": "The ledger file", "content": {
    ledgers.CONTENT_TYPES["xlsx"]: {}, "text/csv": {}}}}}


@router.get("/ledgers/projects/{pk}", response=BINARY, openapi_extra=LEDGER_DOC)
def ledger_project(request, pk: int, query: Query[LedgerQuery]):
    """The project's manifests: for its construction unit's staff and regulators."""
    return _ledger(request, ScopeKind.PROJECT, pk, query)


@router.get("/ledgers/carriers/{pk}", response=BINARY, openapi_extra=LEDGER_DOC)
def ledger_carrier(request, pk: int, query: Query[LedgerQuery]):
    """The loads a transport company carried: for its staff and regulators."""
    return _ledger(request, ScopeKind.CARRIER, pk, query)


@router.get("/ledgers/sites/{pk}", response=BINARY, openapi_extra=LEDGER_DOC)
def ledger_site(request, pk: int, query: Query[LedgerQuery]):
    """The loads sent to a receiving site: for its operator's staff and regulators."""
    return _ledger(request, ScopeKind.SITE, pk, query)
