"""Writes for organisations, users, memberships, tokens and logins. One transaction each,
one audit row each."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wastetrail.accounts.models import (
    ApiToken,
    LoginFailure,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
    hash_token,
)
from wastetrail.accounts.policy import (
    Actor,
    can_edit_organisation,
    can_manage_organisations,
)
from wastetrail.core.audit.services import audit_record
from wastetrail.core.modelwrite import snapshot, validated_create, validated_update

ORGANISATION_FIELDS = [
    "name", "kind", "uscc", "district", "address", "contact_name", "contact_phone", "is_active",
]
# Only a city-wide regulator administrator may change what kind of party an organisation is, its
# code, its district (a regulator's or street office's jurisdiction) or whether it is active.
ORGANISATION_FIELDS_FOR_REGULATOR_ONLY = {"kind", "uscc", "district", "is_active"}


def organisation_create(*, actor: Actor, **fields) -> Organisation:
    actor.require(can_manage_organisations(actor))
    unknown = set(fields) - set(ORGANISATION_FIELDS)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    if fields.get("uscc"):
        fields["uscc"] = fields["uscc"].strip().upper()
    with transaction.atomic():
        organisation = validated_create(Organisation, **fields)
        audit_record(
            actor=actor.user, action="organisation.create", target=organisation,
            data=snapshot(organisation, ORGANISATION_FIELDS),
        )
    return organisation


def organisation_update(*, actor: Actor, organisation: Organisation, **changes) -> Organisation:
    actor.require(can_edit_organisation(actor, organisation))
    unknown = set(changes) - set(ORGANISATION_FIELDS)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    if changes.get("uscc"):
        changes["uscc"] = changes["uscc"].strip().upper()
    with transaction.atomic():
        # Compare with the row as stored, never with an instance a form may already have changed.
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        if not actor.is_regulator_admin:
            restricted = {
                name for name in ORGANISATION_FIELDS_FOR_REGULATOR_ONLY & set(changes)
                if changes[name] != getattr(organisation, name)
            }
            if restricted:
                raise ValidationError(
                    {name: _("Only the regulator can change this field.") for name in restricted}
                )
        diff = validated_update(organisation, changes)
        if diff:
            audit_record(
                actor=actor.user, action="organisation.update", target=organisation, data=diff,
            )
    return organisation


def organisation_bootstrap(*, name: str, uscc: str, admin_username: str, admin_password: str,
                           admin_display_name: str = "") -> Organisation:
    """Create the city's regulator and its first administrator on an empty platform.

    Every other party is registered by that administrator; this is the one write without an
    acting user, so it refuses to run once any regulator exists.
    """
    if Organisation.objects.filter(kind=OrganisationKind.REGULATOR).exists():
        raise ValidationError({"name": _("The platform already has a regulator.")})
    with transaction.atomic():
        regulator = validated_create(
            Organisation, name=name, kind=OrganisationKind.REGULATOR, uscc=(uscc or "").strip().upper()
        )
        audit_record(actor=None, action="organisation.bootstrap", target=regulator,
                     data=snapshot(regulator, ORGANISATION_FIELDS))
        user_create(actor=None, username=admin_username, password=admin_password,
                    organisation=regulator, role=Role.ADMIN, display_name=admin_display_name)
    return regulator


def user_create(
    *,
    actor: Actor | None,
    username: str,
    password: str,
    organisation: Organisation,
    role: str,
    display_name: str = "",
    phone: str = "",
    email: str = "",
) -> User:
    """Create a person and their membership. ``actor`` None means a system command."""
    if actor is not None:
        actor.require(actor.is_regulator_admin or actor.is_admin_of(organisation.pk))
    if role == Role.DRIVER and organisation.kind != OrganisationKind.TRANSPORT_COMPANY:
        raise ValidationError({"role": _("Only a transport company has drivers.")})
    user = User(username=username, display_name=display_name, phone=phone, email=email)
    errors: dict[str, list[str]] = {}
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        user.set_password(password)
        user.save()
        membership = validated_create(Membership, user=user, organisation=organisation, role=role)
        audit_record(
            actor=actor.user if actor else None, action="user.create", target=user,
            organisation=organisation,
            data={"username": username, "organisation": organisation.pk, "role": membership.role},
        )
    return user


# --- login ----------------------------------------------------------------------------------
class LoginThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


def _recent_failures(username: str, ip_address: str | None):
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    match = Q(username=username.lower())
    if ip_address:
        match |= Q(ip_address=ip_address)
    return LoginFailure.objects.filter(match, at__gte=since)


def login_check(*, username: str, password: str, ip_address: str | None, request=None) -> User | None:
    """Authenticate unless the username or address is locked out.

    Returns the user, or None for wrong credentials; raises LoginThrottled while too many recent
    failures exist. A lock-out never reveals whether the username exists.

    Every attempt is recorded (and committed) *before* the password is checked, and counts itself:
    parallel attempts each see the ones committed before them, so no more than the limit ever
    reach the password check, however many arrive at once. A success removes the username's rows.
    """
    name = username.lower()
    limit = settings.LOGIN_MAX_FAILURES
    LoginFailure.objects.create(username=name, ip_address=ip_address, at=timezone.now())
    # Count every committed attempt, not only those with smaller ids: ids are handed out before
    # commit, so filtering by id could let two racing attempts each miss the other.
    recent = list(_recent_failures(username, ip_address).order_by("at", "pk").values_list("at", flat=True))
    if len(recent) > limit:
        unlock_at = recent[-limit] + dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        raise LoginThrottled(max(1, int((unlock_at - timezone.now()).total_seconds())))
    user = authenticate(request, username=username, password=password)
    if user is not None:
        LoginFailure.objects.filter(username=name).delete()
    return user


# --- API tokens -----------------------------------------------------------------------------
TOKEN_PREFIX = "wt_"


def api_token_create(*, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """Create a token for the acting user; the plain secret is returned once, never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, such as the system that uses it.")})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor.user, name=name[:80], prefix=secret[:10], token_hash=hash_token(secret)
        )
        audit_record(actor=actor.user, action="api_token.create", target=token, data={"name": token.name})
    return token, secret


def api_token_revoke(*, actor: Actor, token: ApiToken) -> None:
    actor.require(token.user_id == actor.user.pk or actor.is_regulator_admin)
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            audit_record(actor=actor.user, action="api_token.revoke", target=token, data={})


def api_token_authenticate(secret: str) -> User | None:
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.filter(token_hash=hash_token(secret), revoked_at__isnull=True)
        .select_related("user").first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy client should not turn every read into a write.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
