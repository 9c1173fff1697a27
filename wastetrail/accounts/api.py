"""API for organisations, the acting user and API tokens."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, ModelSchema, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts import selectors, services
from wastetrail.accounts.models import ApiToken, Organisation, OrganisationKind, Role
from wastetrail.api import request_actor

router = Router(tags=["accounts"])


class OrganisationOut(ModelSchema):
    kind_display: str = Field(..., alias="get_kind_display")

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "uscc", "district", "address", "contact_name",
                  "contact_phone", "is_active", "created_at", "updated_at"]


class OrganisationIn(Schema):
    name: str
    kind: OrganisationKind
    uscc: str
    district: int | None = None
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    is_active: bool = True


class OrganisationPatch(Schema):
    name: str | None = None
    kind: OrganisationKind | None = None
    uscc: str | None = None
    district: int | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    is_active: bool | None = None


class MembershipOut(Schema):
    organisation_id: int
    organisation_name: str = Field(..., alias="organisation.name")
    organisation_kind: str = Field(..., alias="organisation.kind")
    role: str


class MemberOut(Schema):
    user_id: int
    username: str = Field(..., alias="user.username")
    display_name: str = Field(..., alias="user.display_name")
    role: str


class MemberIn(Schema):
    username: str
    password: str
    role: Role
    display_name: str = ""
    phone: str = ""
    email: str = ""


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    memberships: list[MembershipOut]
    is_regulator: bool


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime


class TokenCreated(TokenOut):
    token: str


@router.get("/me", response=MeOut)
def me(request):
    actor = request_actor(request)
    return {
        "id": actor.user.pk, "username": actor.user.username,
        "display_name": actor.user.display_name, "memberships": list(actor.memberships),
        "is_regulator": actor.is_regulator,
    }


@router.get("/organisations", response=list[OrganisationOut])
@paginate(LimitOffsetPagination)
def organisation_list(request, kind: OrganisationKind | None = None, q: str = ""):
    return selectors.organisation_list(actor=request_actor(request), kind=kind, search=q)


@router.get("/organisations/{pk}", response=OrganisationOut)
def organisation_detail(request, pk: int):
    return selectors.organisation_get(actor=request_actor(request), pk=pk)


@router.post("/organisations", response={201: OrganisationOut})
def organisation_create(request, payload: OrganisationIn):
    return Status(201, services.organisation_create(actor=request_actor(request), **payload.dict()))


@router.patch("/organisations/{pk}", response=OrganisationOut)
def organisation_update(request, pk: int, payload: OrganisationPatch):
    actor = request_actor(request)
    organisation = selectors.organisation_get(actor=actor, pk=pk)
    return services.organisation_update(
        actor=actor, organisation=organisation, **payload.dict(exclude_unset=True)
    )


@router.get("/organisations/{pk}/members", response=list[MemberOut])
def member_list(request, pk: int):
    actor = request_actor(request)
    organisation = selectors.organisation_get(actor=actor, pk=pk)
    return list(selectors.organisation_members(actor=actor, organisation=organisation))


@router.post("/organisations/{pk}/members", response={201: MemberOut})
def member_create(request, pk: int, payload: MemberIn):
    actor = request_actor(request)
    organisation = selectors.organisation_get(actor=actor, pk=pk)
    user = services.user_create(actor=actor, organisation=organisation, **payload.dict())
    return Status(201, user.memberships.select_related("user").get(organisation=organisation))


@router.get("/tokens", response=list[TokenOut])
def token_list(request):
    return list(selectors.api_token_list(actor=request_actor(request)))


@router.post("/tokens", response={201: TokenCreated})
def token_create(request, payload: TokenIn):
    token, secret = services.api_token_create(actor=request_actor(request), name=payload.name)
    return Status(201, {"id": token.pk, "name": token.name, "prefix": token.prefix,
                        "created_at": token.created_at, "token": secret})


@router.delete("/tokens/{pk}", response={204: None})
def token_revoke(request, pk: int):
    actor = request_actor(request)
    token = get_object_or_404(ApiToken, pk=pk, user=actor.user)
    services.api_token_revoke(actor=actor, token=token)
    return Status(204, None)
