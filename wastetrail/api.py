"""The JSON API: one NinjaAPI, a router per app, the same error shape everywhere.

Machine clients send ``Authorization: Bearer <token>``; pages call it with the session cookie
(CSRF checked). Either way the request runs as an Actor and goes through the same services.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja import errors as ninja_errors
from ninja.security import HttpBearer, SessionAuth

from wastetrail import __version__
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.accounts.services import api_token_authenticate
from wastetrail.core.errors import DomainError, NotFound


class TokenAuth(HttpBearer):
    openapi_description = "API token created in the web interface or with `wastetrail token create`."

    def authenticate(self, request: HttpRequest, token: str):
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


def request_actor(request: HttpRequest) -> Actor:
    return actor_for(request.auth)


@contextmanager
def payload_errors(payload_names: dict[str, str]) -> Iterator[None]:
    """Rename a service's field errors to the payload's names (`company` → `company_id`), so an
    API client sees the field it actually sent."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError(
            {payload_names.get(name, name): errors for name, errors in exc.error_dict.items()}
        ) from None


api = NinjaAPI(
    title="wastetrail API",
    version=__version__,
    description="Supervision of construction and demolition waste (建筑垃圾全过程监管).",
    auth=[TokenAuth(), ActiveSessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: list(messages) for field, messages in exc.message_dict.items()}
    return {"__all__": exc.messages}


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    return api.create_response(
        request, {"detail": "invalid input", "errors": _field_errors(exc)}, status=422
    )


@api.exception_handler(ninja_errors.ValidationError)
def on_schema_error(request, exc: ninja_errors.ValidationError):
    """A payload that does not fit the schema (a word where a number goes, a missing field) gets
    the same shape as a rule's ValidationError, keyed by the field's name in the request. The
    location's first parts say where (body, query, path) and the schema's parameter name."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ())]
        field = location[-1] if location else "__all__"
        errors.setdefault(field, []).append(str(error.get("msg", "invalid")))
    return api.create_response(request, {"detail": "invalid input", "errors": errors}, status=422)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc: PermissionDenied):
    return api.create_response(request, {"detail": str(exc) or "forbidden"}, status=403)


@api.exception_handler(NotFound)
def on_not_found(request, exc: NotFound):
    return api.create_response(request, {"detail": "not found"}, status=404)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=409)


def _register_routers() -> None:
    # Imported here so that each app's api module can import `request_actor` from this one.
    from wastetrail.accounts.api import router as accounts_router
    from wastetrail.core.api import router as core_router
    from wastetrail.registry.api import router as registry_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/core", core_router)
    api.add_router("/registry", registry_router)
    api.add_router("/rulebook", "wastetrail.core.rulebook.api.router")
    api.add_router("/plans", "wastetrail.plans.api.router")
    api.add_router("/permits", "wastetrail.permits.api.router")
    api.add_router("/manifests", "wastetrail.manifests.api.router")
    # Revision requests: /manifests/{id}/revisions/... and the inbox /revisions.
    api.add_router("", "wastetrail.manifests.revision_api.router")
    api.add_router("/reconciliation", "wastetrail.manifests.reconciliation_api.router")
    # Documents sit beside the resources they print: /manifests/{id}/pdf, /ledgers/...
    api.add_router("", "wastetrail.manifests.document_api.router")
    api.add_router("/telemetry", "wastetrail.telemetry.api.router")
    # Work orders: /workorders (staff), /public/workorders (no login), /hotline (12345).
    api.add_router("", "wastetrail.complaints.api.router")
    api.add_router("/stacking", "wastetrail.stacking.api.router")


_register_routers()
