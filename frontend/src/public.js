// The public pages (/public/): a map of stacking points around the resident, and the place picker
// of the report form. Both pages work without this script (the server renders the list; the form
// says to call 12345); the script adds the browser's location and the map.
//
// Settings come as JSON (#public-map-config, built by complaints/public/views.py): the district
// layer URL, tiles (optional: offline intranets draw the bundled districts only), the points to
// show or the place already picked, and translated texts.
//
// For browser tests the map container carries data-state ("loading", "ready", "error") and
// data-points (markers drawn); window.wastetrailPublic exposes the Leaflet map and `ready`.

import L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./public.css";
import { cityMap, element, fetchJson } from "./mapkit.js";

const STATUS_COLOURS = { open: "#2b8a3e", full: "#e67700", closed: "#868e96" };

function showScriptParts() {
  document.querySelectorAll(".js-only").forEach((node) => {
    node.hidden = false;
  });
}

function say(text) {
  const box = document.getElementById("locate-status");
  if (box) box.textContent = text;
}

// Ask the browser where it is; `done` gets [lon, lat]. Refusal and absence get a clear way on.
function locate(config, done) {
  if (!navigator.geolocation) {
    say(config.text.unavailable);
    return;
  }
  say(config.text.locating);
  navigator.geolocation.getCurrentPosition(
    (position) => done([position.coords.longitude, position.coords.latitude]),
    () => say(config.text.refused),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

async function drawDistricts(map, config) {
  const collection = await fetchJson(config.districts, "application/geo+json");
  // Under the points and the picked place, whichever arrives first: a pane below the overlays.
  const pane = map.createPane("districts");
  pane.style.zIndex = "350";
  const layer = L.geoJSON(collection, {
    pane: "districts",
    style: { className: "district", color: "#52606d", weight: 1, fillColor: "#f5e3b5", fillOpacity: config.tiles.url ? 0.1 : 0.9 },
    interactive: false,
  }).addTo(map);
  return layer.getBounds();
}

// Popups are DOM nodes with textContent: point names and addresses are typed by people.
function pointPopup(card, config) {
  const rows = [element("strong", { text: card.name }), element("div", { text: card.address })];
  rows.push(element("div", { text: `${card.status_label} · ${card.hours}` }));
  if (card.distance) rows.push(element("div", { text: `${config.text.distance}: ${card.distance}` }));
  rows.push(element("a", { text: config.text.report, attributes: { href: card.report_url } }));
  return element("div", { className: "point-popup" }, rows);
}

function drawPoints(map, config, container) {
  const bounds = L.latLngBounds([]);
  for (const card of config.points) {
    const marker = L.circleMarker([card.lat, card.lon], {
      className: "stacking-point", radius: 9, color: "#fff", weight: 2,
      fillColor: STATUS_COLOURS[card.status] || "#495057", fillOpacity: 0.95,
    }).addTo(map);
    marker.on("add", () => marker.getElement().setAttribute("data-point-id", String(card.id)));
    marker.getElement()?.setAttribute("data-point-id", String(card.id));
    marker.bindPopup(() => pointPopup(card, config));
    bounds.extend(marker.getLatLng());
  }
  if (config.origin) {
    const here = L.circleMarker([config.origin[1], config.origin[0]], {
      className: "you-are-here", radius: 7, color: "#1c7ed6", weight: 3, fillColor: "#fff", fillOpacity: 1,
    }).addTo(map);
    bounds.extend(here.getLatLng());
  }
  container.setAttribute("data-points", String(config.points.length));
  return bounds;
}

function startFinder(config) {
  const button = document.getElementById("locate");
  if (button) {
    button.addEventListener("click", () => locate(config, ([lon, lat]) => {
      const url = new URL(window.location.href);
      url.searchParams.set("lon", lon.toFixed(6));
      url.searchParams.set("lat", lat.toFixed(6));
      url.searchParams.delete("district");
      url.searchParams.delete("q");
      window.location.assign(url.toString());
    }));
  }
}

function startPicker(map, config, form) {
  const lon = form.querySelector("input[name=lon]");
  const lat = form.querySelector("input[name=lat]");
  let marker = null;
  const place = (latlng, zoom) => {
    lon.value = latlng.lng.toFixed(6);
    lat.value = latlng.lat.toFixed(6);
    if (marker) marker.setLatLng(latlng);
    else marker = L.circleMarker(latlng, { className: "picked-place", radius: 10, color: "#c92a2a", weight: 3, fillOpacity: 0.4 }).addTo(map);
    if (zoom) map.setView(latlng, Math.max(map.getZoom(), zoom), { animate: false });
    map.getContainer().setAttribute("data-picked", `${lon.value},${lat.value}`);
    say(config.text.picked);
  };
  map.on("click", (event) => place(event.latlng, 0));
  if (config.picked) place(L.latLng(Number(config.picked[1]), Number(config.picked[0])), 16);
  const button = document.getElementById("locate");
  if (button) button.addEventListener("click", () => locate(config, ([x, y]) => place(L.latLng(y, x), 16)));
  // Anonymous reports need neither name nor mobile: hide the two fields.
  const anonymous = form.querySelector("input[name=anonymous]");
  const who = form.querySelectorAll("[data-field=complainant_name], [data-field=complainant_phone]");
  const sync = () => who.forEach((node) => { node.hidden = anonymous.checked; });
  if (anonymous) {
    anonymous.addEventListener("change", sync);
    sync();
  }
  return marker;
}

async function start(container, config, state) {
  const { map } = cityMap(container, config);
  state.map = map;
  let bounds = L.latLngBounds([]);
  if (config.mode === "points") {
    bounds = drawPoints(map, config, container);
    startFinder(config);
  } else {
    startPicker(map, config, container.closest("form"));
  }
  try {
    const districtBounds = await drawDistricts(map, config);
    if (!bounds.isValid() && !config.picked) bounds = districtBounds;
  } catch (error) {
    console.error(error);
    say(config.text.loadFailed);
  }
  if (bounds.isValid() && !config.picked) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16, animate: false });
  container.setAttribute("data-state", "ready");
}

const container = document.getElementById("public-map");
const configNode = document.getElementById("public-map-config");
if (container && configNode) {
  showScriptParts();
  const config = JSON.parse(configNode.textContent);
  const state = { map: null, ready: null };
  window.wastetrailPublic = state;
  state.ready = start(container, config, state).catch((error) => {
    console.error(error);
    container.setAttribute("data-state", "error");
  });
}
