// Work-order maps (complaints/map_views.py, views.py). One bundle, three modes chosen by the
// page's #workorders-config "mode":
//   point   the order's detail page: the place it happened, on a small map
//   pick    the staff intake form: a click marks the place and fills the hidden lon/lat inputs
//   orders  /workorders/map/: the open orders as markers coloured by deadline and status
//
// Like /map/ and /live/ the base is the bundled district boundaries (offline intranets), with
// the configured tile layer under them when there is one. Positions are WGS-84 as stored.
// For browser tests the container carries data-state ("loading", "ready", "error"); the orders
// map adds data-orders (markers drawn) and window.wastetrailOrders exposes the map and markers.

import L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./map.css";
import { cityMap, element, fetchJson, messageControl } from "./mapkit.js";

const LAND = "#e6e2d3";
const PLACE_ZOOM = 15;

async function baseMap(container, config) {
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

function dot(colour, className) {
  return L.divIcon({ className: `wo-marker ${className || ""}`, html: `<span style="background:${colour}"></span>`, iconSize: [14, 14] });
}

async function showPoint(container, config) {
  const { map } = await baseMap(container, config);
  const [lon, lat] = config.point;
  L.marker([lat, lon], { icon: dot("#e03131", "wo-place"), keyboard: false }).addTo(map);
  map.setView([lat, lon], PLACE_ZOOM, { animate: false });
}

async function pickPlace(container, config) {
  const { map, bounds } = await baseMap(container, config);
  const lonInput = document.querySelector("input[name=lon]");
  const latInput = document.querySelector("input[name=lat]");
  let marker = null;
  const place = (lat, lon) => {
    if (marker) marker.setLatLng([lat, lon]);
    else marker = L.marker([lat, lon], { icon: dot("#e03131", "wo-place") }).addTo(map);
    container.setAttribute("data-picked", `${lon.toFixed(6)},${lat.toFixed(6)}`);
  };
  if (lonInput && latInput && lonInput.value && latInput.value) {
    place(Number(latInput.value), Number(lonInput.value));
    map.setView([Number(latInput.value), Number(lonInput.value)], PLACE_ZOOM, { animate: false });
  } else if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [10, 10], animate: false });
  }
  map.on("click", (event) => {
    const { lat, lng } = event.latlng;
    if (lonInput && latInput) {
      lonInput.value = lng.toFixed(6);
      latInput.value = lat.toFixed(6);
    }
    place(lat, lng);
  });
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

// Titles and category names are typed by people: always text nodes, never markup.
function orderPopup(order, text) {
  const list = element("dl", { className: "map-popup-fields" });
  for (const [label, value] of [[text.status, order.status], [text.type, order.type], [text.category, order.category],
    [text.unit, order.unit], [text.due, order.due]]) {
    if (!value) continue;
    list.appendChild(element("dt", { text: label }));
    list.appendChild(element("dd", { text: value }));
  }
  return element("div", { className: "map-popup", attributes: { "data-order-id": String(order.id) } }, [
    element("a", { className: "map-popup-title", text: order.number, attributes: { href: order.url } }),
    element("div", { text: order.title }),
    list,
    element("a", { className: "map-popup-link", text: text.open, attributes: { href: order.url } }),
  ]);
}

async function showOrders(container, config, state) {
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
  const layer = L.featureGroup();
  for (const order of data.orders) {
    const marker = L.marker([order.lat, order.lon], {
      icon: dot(colourOf(config, order.mark), `wo-mark-${order.mark}`), title: order.number,
    });
    marker.on("add", () => {
      const node = marker.getElement();
      node.setAttribute("data-order-id", String(order.id));
      node.setAttribute("data-mark", order.mark);
    });
    marker.bindPopup(() => orderPopup(order, config.text));
    layer.addLayer(marker);
    state.markers.push(marker);
  }
  layer.addTo(map);
  if (data.orders.length) map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: PLACE_ZOOM, animate: false });
  if (data.truncated) messages.show(config.text.truncated);
  container.setAttribute("data-orders", String(data.orders.length));
  const count = document.querySelector("[data-testid=order-count]");
  if (count) count.textContent = String(data.orders.length);
}

const container = document.getElementById("wo-map");
const configNode = document.getElementById("workorders-config");
if (container && configNode) {
  const config = JSON.parse(configNode.textContent);
  const state = { map: null, markers: [], ready: null };
  window.wastetrailOrders = state;
  const modes = { point: showPoint, pick: pickPlace, orders: showOrders };
  state.ready = modes[config.mode](container, config, state)
    .then(() => container.setAttribute("data-state", "ready"))
    .catch((error) => {
      console.error(error);
      container.setAttribute("data-state", "error");
    });
}
