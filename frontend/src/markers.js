// What the marker maps share (workorders.js: the open work orders; stacking.js: the stacking
// points): the bundled districts as the base, round markers coloured by a "mark", a legend of
// the marks, and one function that draws a list of items and fits the map to them.
//
// The config comes from the server (registry.map_views.base_map_config plus the page's own):
// districtsUrl, tiles, center, zoom, showEnglishNames, boundaryAttribution, text, legend.

import L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./map.css";
import { baseMap, element, fetchJson, messageControl } from "./mapkit.js";

export const PLACE_ZOOM = 15;

export function dot(colour, className) {
  return L.divIcon({ className: `wo-marker ${className || ""}`, html: `<span style="background:${colour}"></span>`, iconSize: [14, 14] });
}

function colourOf(config, mark) {
  const entry = config.legend.find((item) => item.value === mark);
  return entry ? entry.colour : "#495057";
}

function legendControl(config) {
  const control = L.control({ position: "bottomright" });
  control.onAdd = () => {
    const box = element("div", { className: "map-legend", attributes: { "data-testid": "map-legend" } });
    box.appendChild(element("h2", { text: config.text.legend }));
    const list = element("ul");
    for (const entry of config.legend) {
      const swatch = element("span", { className: "swatch swatch-project" });
      swatch.style.background = entry.colour;
      list.appendChild(element("li", {}, [swatch, element("span", { text: entry.label })]));
    }
    box.appendChild(list);
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  return control;
}

// Fetch config.dataUrl, whose JSON holds `key` (a list of items with id, lon, lat and mark) and
// `truncated`; draw one marker per item, named by labelOf(item) (its hover text and accessible
// name); return how many. Each marker's element carries data-<idAttribute> and data-mark for
// tests and scripts.
export async function showMarkers(container, config, state, { key, idAttribute, labelOf, popupOf }) {
  const { map, bounds } = await baseMap(container, config);
  state.map = map;
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], animate: false });
  legendControl(config).addTo(map);
  const messages = messageControl().addTo(map);
  let data;
  try {
    data = await fetchJson(config.dataUrl);
  } catch (error) {
    messages.show(config.text.loadFailed);
    throw error;
  }
  const items = data[key];
  const layer = L.featureGroup();
  for (const item of items) {
    const marker = L.marker([item.lat, item.lon], { icon: dot(colourOf(config, item.mark), `wo-mark-${item.mark}`), title: labelOf(item) });
    marker.on("add", () => {
      const node = marker.getElement();
      node.setAttribute(`data-${idAttribute}`, String(item.id));
      node.setAttribute("data-mark", item.mark);
    });
    marker.bindPopup(() => popupOf(item, config.text));
    layer.addLayer(marker);
    state.markers.push(marker);
  }
  layer.addTo(map);
  if (items.length) map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: PLACE_ZOOM, animate: false });
  if (data.truncated) messages.show(config.text.truncated);
  container.setAttribute(`data-${key}`, String(items.length));
  return items.length;
}
