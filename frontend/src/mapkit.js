// What the map pages share (map.js: projects and sites; live.js: trucks and tracks; markers.js:
// work orders and stacking points): DOM building, JSON fetching, the message box, a Leaflet map
// with the city's base settings, and that map over the bundled district boundaries.

import L from "leaflet";

export function element(tag, { className, text, attributes } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.appendChild(child);
  return node;
}

// A popup's label/value list. Values are text nodes, never markup: names, plates and addresses
// are typed by people. A row may carry a ready DOM node instead of a value (a link, say).
export function fieldList(rows) {
  const list = element("dl", { className: "map-popup-fields" });
  for (const [label, value, node] of rows) {
    if ((value === undefined || value === null || value === "") && !node) continue;
    list.appendChild(element("dt", { text: label }));
    list.appendChild(node ? element("dd", {}, [node]) : element("dd", { text: value }));
  }
  return list;
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

// Plain land under everything when there are no tiles; a light wash over tiles.
const LAND = "#e6e2d3";

// The base of the live and marker maps: optional tiles, then the districts (the land when
// offline) with their names. Returns the map and the districts' bounds.
export async function baseMap(container, config) {
  const { map } = cityMap(container, config);
  const collection = await fetchJson(config.districtsUrl);
  const districts = L.geoJSON(collection, {
    interactive: false,
    style: { className: "district", color: "#7b8794", weight: 1, fillColor: LAND, fillOpacity: config.tiles.url ? 0.15 : 0.9 },
  }).addTo(map);
  for (const feature of collection.features) {
    const { name, name_en: nameEn, label_point: labelPoint } = feature.properties;
    if (!labelPoint) continue;
    const label = element("span", { text: config.showEnglishNames && nameEn ? nameEn : name });
    L.tooltip({ permanent: true, direction: "center", className: "district-label", interactive: false })
      .setLatLng([labelPoint[1], labelPoint[0]]).setContent(label).addTo(map);
  }
  return { map, bounds: districts.getBounds() };
}
