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
import { baseMap, element, fieldList } from "./mapkit.js";
import { dot, PLACE_ZOOM, showMarkers } from "./markers.js";

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

// Titles and category names are typed by people: always text nodes, never markup.
function orderPopup(order, text) {
  return element("div", { className: "map-popup", attributes: { "data-order-id": String(order.id) } }, [
    element("a", { className: "map-popup-title", text: order.number, attributes: { href: order.url } }),
    element("div", { text: order.title }),
    fieldList([[text.status, order.status], [text.type, order.type], [text.category, order.category],
      [text.unit, order.unit], [text.due, order.due]]),
    element("a", { className: "map-popup-link", text: text.open, attributes: { href: order.url } }),
  ]);
}

async function showOrders(container, config, state) {
  const shown = await showMarkers(container, config, state, {
    key: "orders", idAttribute: "order-id", labelOf: (order) => order.number, popupOf: orderPopup,
  });
  const count = document.querySelector("[data-testid=order-count]");
  if (count) count.textContent = String(shown);
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
