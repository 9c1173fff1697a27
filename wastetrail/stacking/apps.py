from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StackingConfig(AppConfig):
    name = "wastetrail.stacking"
    label = "stacking"
    verbose_name = _("Decoration-waste stacking points")
