"""Tests that drive the pages in a real browser (Debian's Chromium through Playwright), plus the
plain tests of the map's layer endpoints that those pages read."""
