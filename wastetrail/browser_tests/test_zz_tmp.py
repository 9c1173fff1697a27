import pytest
from wastetrail.testing import build_cast
from wastetrail.browser_tests.conftest import log_in, wait_for_map, solid_png
from wastetrail.browser_tests.sample import build_sample_registry
pytestmark = [pytest.mark.django_db(transaction=True)]
def test_x(page, live_server, settings):
    settings.MAP_TILE_URL = "https://tiles.example.test/{z}/{x}/{y}.png"
    page.allowed_foreign_hosts.add("tiles.example.test")
    page.route("https://tiles.example.test/**", lambda route: route.fulfill(body=solid_png(rgb=(240,236,226)), content_type="image/png"))
    cast = build_cast(); s = build_sample_registry(cast)
    log_in(page, live_server, "reg_admin"); page.wait_for_url(live_server.url + "/")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + "/map/"); wait_for_map(page)
    page.screenshot(path="/tmp/tiles_en.png")
    site = s.sites[0]
    page.evaluate(f"window.wastetrailMap.map.setView([{site.centroid_lat}, {site.centroid_lon}], 15, {{animate: false}})")
    page.wait_for_timeout(300)
    page.locator(f"path.site[data-site-id='{site.pk}']").click()
    page.wait_for_timeout(300)
    page.screenshot(path="/tmp/site_zoom.png")
