// What the map pages share (map.js: projects and sites; live.js: trucks and tracks): DOM
// building, JSON fetching, the message box, and a Leaflet map with the city's base settings.

import L from "leaflet";

export function element(tag, { className, text, attributes } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.appendChild(child);
  return node;
}

export async function fetchJson(url, accept = "application/json") {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: accept } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

export function messageControl() {
  const control = L.control({ position: "topright" });
  control.onAdd = () => element("div", { className: "map-message", attributes: { role: "alert", hidden: "" } });
  control.show = (message) => {
    const box = control.getContainer();
    box.textContent = message;
    box.hidden = false;
  };
  control.hide = () => {
    control.getContainer().hidden = true;
  };
  return control;
}

// A map at the page's centre and zoom, with attribution and scale. The tile layer (if the server
// has MAP_TILE_URL) is returned, not added to a layer switcher: each page decides that.
export function cityMap(container, config) {
  const { tiles, text } = config;
  const map = L.map(container, {
    center: config.center, zoom: config.zoom, minZoom: 7, maxZoom: 18, zoomSnap: 0.25, zoomDelta: 0.5,
    preferCanvas: false, // SVG: every district, point and truck is an element tests can find
  });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.attributionControl.addAttribution(config.boundaryAttribution);
  let tileLayer = null;
  if (tiles.url) {
    tileLayer = L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 18 }).addTo(map);
    container.classList.add("with-tiles");
  } else {
    map.attributionControl.addAttribution(text.offline);
  }
  L.control.scale({ imperial: false }).addTo(map);
  return { map, tileLayer };
}
