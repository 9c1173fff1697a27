// The staff map of stacking points (/stacking/map/, stacking/map_views.py): every point the user
// may see, coloured by what it needs (full, nearly full, open, closed), each linking to its page.
// For browser tests the container carries data-state ("loading", "ready", "error") and
// data-points (markers drawn); window.wastetrailPoints exposes the map and its markers.

import { element, fieldList } from "./mapkit.js";
import { showMarkers } from "./markers.js";

// Names and addresses are typed by property managers: text nodes only.
function pointPopup(point, text) {
  return element("div", { className: "map-popup", attributes: { "data-point-id": String(point.id) } }, [
    element("a", { className: "map-popup-title", text: point.title, attributes: { href: point.url } }),
    fieldList([[text.code, point.code], [text.status, point.status], [text.fill, point.fill], [text.area, point.area],
      [text.manager, point.manager], [text.hours, point.hours], [text.address, point.address]]),
    element("a", { className: "map-popup-link", text: text.open, attributes: { href: point.url } }),
  ]);
}

const container = document.getElementById("stacking-map");
const configNode = document.getElementById("stacking-config");
if (container && configNode) {
  const config = JSON.parse(configNode.textContent);
  const state = { map: null, markers: [], ready: null };
  window.wastetrailPoints = state;
  const options = { key: "points", idAttribute: "point-id", labelOf: (point) => point.title, popupOf: pointPopup };
  state.ready = showMarkers(container, config, state, options)
    .then((shown) => {
      const count = document.querySelector("[data-testid=point-count]");
      if (count) count.textContent = String(shown);
      container.setAttribute("data-state", "ready");
    })
    .catch((error) => {
      console.error(error);
      container.setAttribute("data-state", "error");
    });
}
