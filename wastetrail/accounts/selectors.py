"""Reads of organisations and people, always scoped to what the actor may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from wastetrail.accounts.models import ApiToken, Membership, Organisation, OrganisationKind, User
from wastetrail.accounts.policy import Actor
from wastetrail.core.errors import NotFound


def organisation_list(*, actor: Actor, kind: str | None = None, search: str = "") -> QuerySet[Organisation]:
    """Regulators see every party; the housing authority sees the property managers it
    supervises; everyone else sees only their own organisations."""
    qs = Organisation.objects.all()
    if not actor.is_regulator:
        visible = Q(pk__in=actor.organisation_ids)
        if actor.org_ids_of(OrganisationKind.HOUSING_AUTHORITY):
            visible |= Q(kind=OrganisationKind.PROPERTY_MANAGER)
        qs = qs.filter(visible)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(uscc__icontains=search))
    return qs.order_by("kind", "name")


def organisation_get(*, actor: Actor, pk: int) -> Organisation:
    try:
        return organisation_list(actor=actor).get(pk=pk)
    except (Organisation.DoesNotExist, ValueError):
        raise NotFound from None


def organisation_members(*, actor: Actor, organisation: Organisation) -> QuerySet[Membership]:
    # Seeing an organisation lets you see who acts for it; personal details stay on the user.
    organisation_get(actor=actor, pk=organisation.pk)
    return organisation.memberships.select_related("user").order_by("role", "user__username")


def organisations_choosable(*, actor: Actor, kinds: tuple[str, ...]) -> QuerySet[Organisation]:
    """Organisations the actor may pick as owner/operator in a form of their own."""
    qs = Organisation.objects.filter(kind__in=kinds, is_active=True)
    if not actor.is_regulator:
        qs = qs.filter(pk__in=[
            m.organisation_id for m in actor.memberships if m.role in ("admin", "staff")
        ])
    return qs.order_by("name")


def api_token_list(*, actor: Actor) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor.user, revoked_at__isnull=True).order_by("-created_at")


def user_by_username(username: str) -> User | None:
    return User.objects.filter(username=username).first()
