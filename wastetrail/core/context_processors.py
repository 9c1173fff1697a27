from django.conf import settings


def platform(request):
    return {
        "PLATFORM_NAME": "wastetrail",
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
    }
