"""Approval pages. The queue and decision URLs come before the generic ones they resemble."""

from django.contrib.auth.decorators import login_required
from django.urls import path

from wastetrail.permits import views

urlpatterns = [
    path("approvals/queue/", login_required(views.review_queue_view), name="approvals-queue"),
    path("approvals/<int:pk>/attachments/", login_required(views.attachment_add_view),
         name="approvals-attach"),
    path("approvals/<int:pk>/<slug:step>/", login_required(views.decision_view), name="approvals-decide"),
    *views.approval_pages.urls(),
]
