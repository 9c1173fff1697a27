"""The staff's work-order queues (by deadline, the dispatch desk, follow-up, overdue, closed, all)
and the statistics per unit and month. Reads only; scoping and paging are in the selectors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wastetrail.accounts.policy import actor_for
from wastetrail.complaints import selectors
from wastetrail.complaints.charts import month_chart
from wastetrail.complaints.models import WorkOrderCategory, WorkOrderType
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.core.errors import NotFound

QUEUE_LABELS = {
    "mine": gettext_lazy("My unit's orders"), "dispatch": gettext_lazy("To dispatch"),
    "answered": gettext_lazy("Waiting for follow-up"), "overdue": gettext_lazy("Overdue"),
    "closed": gettext_lazy("Closed"), "all": gettext_lazy("All"),
}
PER_PAGE = 50


class QueueFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Number or title"), required=False, max_length=60)
    district = forms.TypedChoiceField(label=gettext_lazy("District"), required=False, coerce=int, empty_value=None,
                                      choices=[("", gettext_lazy("All districts")), *DISTRICT_CHOICES])
    order_type = forms.ChoiceField(label=gettext_lazy("Type"), required=False,
                                   choices=[("", gettext_lazy("All types")), *WorkOrderType.choices])
    category = forms.ModelChoiceField(label=gettext_lazy("Category"), required=False,
                                      queryset=WorkOrderCategory.objects.all(), empty_label=gettext_lazy("All"))
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)


@login_required
def queue_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    queues = selectors.available_queues(actor)
    if not queues:
        raise Http404
    queue = request.GET.get("queue") or queues[0]
    if queue not in queues:
        raise Http404
    form = QueueFilterForm(request.GET or None)
    filters: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    try:
        page_number = int(request.GET.get("page") or 1)
    except ValueError:
        page_number = 1
    page = selectors.workorder_queue(
        actor=actor, queue=queue, page=page_number, per_page=PER_PAGE, district=filters.get("district"),
        order_type=filters.get("order_type") or None,
        category=filters["category"].pk if filters.get("category") else None,
        search=filters.get("q") or "", overdue_only=bool(filters.get("overdue")))
    # The links keep the filters; the pager adds its page, a tab starts again at page 1.
    kept = {key: value for key, value in request.GET.items() if key not in ("page", "queue") and value}
    context = {
        "title": _("Work orders"), "page": page, "form": form, "queue": queue,
        "tabs": [(name, QUEUE_LABELS[name], urlencode({**kept, "queue": name})) for name in queues],
        "query": urlencode({**kept, "queue": queue}),
    }
    return render(request, "complaints/queue.html", context)


class StatsFilterForm(forms.Form):
    month = forms.DateField(label=gettext_lazy("Up to month"), required=False, input_formats=["%Y-%m"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
    months = forms.TypedChoiceField(label=gettext_lazy("Months"), required=False, coerce=int, empty_value=12,
                                    choices=[(3, "3"), (6, "6"), (12, "12"), (24, "24"), (36, "36")],
                                    initial=12)
    # The units in scope come with the statistics; the selector refuses a unit outside them.
    unit = forms.IntegerField(label=gettext_lazy("Unit"), required=False, min_value=1, widget=forms.Select)

    def offer_units(self, units: list) -> None:
        self.fields["unit"].widget.choices = [("", _("All units")), *((unit.pk, unit.name) for unit in units)]


@login_required
def stats_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    if not selectors.available_queues(actor):
        raise Http404
    # Unbound on a first visit, so the selects show their initial values (12 months).
    form = StatsFilterForm(request.GET or None, initial={"months": 12})
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        stats = selectors.workorder_stats(actor=actor, months=filters.get("months") or 12,
                                          unit=filters.get("unit"), until=filters.get("month"))
    except NotFound:
        raise Http404 from None
    form.offer_units(stats.unit_choices)
    context = {"title": _("Work-order statistics"), "stats": stats, "form": form,
               "chart": month_chart(stats.month_totals)}
    return render(request, "complaints/stats.html", context)
