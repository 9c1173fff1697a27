"""Login, logout, the home page per role and the organisation pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wastetrail.accounts import selectors, services
from wastetrail.accounts.forms import LoginForm, MemberForm, OrganisationFilterForm, OrganisationForm
from wastetrail.accounts.home import home_sections
from wastetrail.accounts.policy import Actor, actor_for, can_edit_organisation, can_manage_organisations
from wastetrail.core.crud import Column, ResourcePages, attach_errors
from wastetrail.core.errors import NotFound


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_check(
                username=form.cleaned_data["username"], password=form.cleaned_data["password"],
                ip_address=client_ip(request), request=request,
            )
        except services.LoginThrottled as exc:
            minutes = max(1, round(exc.retry_after_seconds / 60))
            form.add_error(None, _("Too many failed attempts. Try again in %(m)d minutes.") % {"m": minutes})
            status = 429
        else:
            if user is not None:
                login(request, user)
                target = request.GET.get("next") or ""
                if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
                    target = "home"
                return redirect(target or "home")
            form.add_error(None, _("Wrong username or password."))
            status = 400
    return render(request, "accounts/login.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    return render(request, "home.html", {"actor": actor, "sections": home_sections(actor)})


class OrganisationPages(ResourcePages):
    name = "organisations"
    title = gettext_lazy("Organisations")
    title_singular = gettext_lazy("Organisation")
    form_class = OrganisationForm
    filter_form_class = OrganisationFilterForm
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Kind"), "get_kind_display"),
        Column(gettext_lazy("Unified social credit code"), "uscc"),
        Column(gettext_lazy("District"), "get_district_display"),
    ]
    detail_fields = columns[1:] + [
        Column(gettext_lazy("Address"), "address"),
        Column(gettext_lazy("Contact person"), "contact_name"),
        Column(gettext_lazy("Contact phone"), "contact_phone"),
        Column(gettext_lazy("Active"), "is_active"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        qs = selectors.organisation_list(actor=actor, kind=filters.get("kind"), search=filters.get("q", ""))
        if filters.get("district"):
            qs = qs.filter(district=filters["district"])
        return qs

    def get(self, actor, pk):
        return selectors.organisation_get(actor=actor, pk=pk)

    def create(self, actor, data):
        return services.organisation_create(actor=actor, **data)

    def update(self, actor, obj, data):
        return services.organisation_update(actor=actor, organisation=obj, **data)

    def can_create(self, actor):
        return can_manage_organisations(actor)

    def can_edit(self, actor, obj):
        return can_edit_organisation(actor, obj)

    def form_kwargs(self, actor, obj):
        return {"actor": actor}

    def detail_context(self, actor, obj):
        return {
            "members": selectors.organisation_members(actor=actor, organisation=obj),
            "can_add_member": actor.is_regulator_admin or actor.is_admin_of(obj.pk),
        }


organisation_pages = OrganisationPages()


@login_required
def member_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    try:
        organisation = selectors.organisation_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None
    if not (actor.is_regulator_admin or actor.is_admin_of(organisation.pk)):
        raise PermissionDenied
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_create(actor=actor, organisation=organisation, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Member added."))
            return redirect("organisations-detail", pk=organisation.pk)
    return render(request, "accounts/member_form.html", {"form": form, "organisation": organisation},
                  status=400 if request.method == "POST" else 200)
