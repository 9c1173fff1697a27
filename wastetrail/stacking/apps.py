from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StackingConfig(AppConfig):
    name = "wastetrail.stacking"
    label = "stacking"
    verbose_name = _("Decoration-waste stacking points")

    def ready(self) -> None:
        # A collection's manifest closing finishes the collection, and a redirect of its load
        # joins the collection's manifest trail (manifests does not import us).
        from wastetrail.manifests.signals import collection_manifest_closed, collection_manifest_redirected
        from wastetrail.stacking.services import on_collection_manifest_closed, on_collection_manifest_redirected

        collection_manifest_closed.connect(on_collection_manifest_closed,
                                           dispatch_uid="stacking.collection_manifest_closed")
        collection_manifest_redirected.connect(on_collection_manifest_redirected,
                                               dispatch_uid="stacking.collection_manifest_redirected")
