from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "wastetrail.core"
    label = "core"
    verbose_name = _("Rulebook and audit")
