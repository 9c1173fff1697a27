// Vehicle telemetry pages: the live map of trucks (/live/) and a vehicle's track (/vehicles/<id>/track/).
//
// Both draw on the same offline base as /map/: Jiangmen's districts from the bundled GeoJSON over
// a plain background, with the configured tile server (MAP_TILE_URL) underneath when there is one.
// Coordinates are WGS-84 as the terminals send them and are drawn as-is; a GCJ-02 tile server
// (most Chinese web maps) will look offset by a few hundred metres (see map.js).
//
// The page passes its settings as JSON (#live-config, built by telemetry/views.py); the track page
// also passes its points (#track-data). For browser tests and scripts the map container carries
// data-state ("loading", "ready", "error"); the live map adds data-trucks (markers drawn) and
// data-refreshes (answers applied), each truck's marker data-vehicle-id and data-truck-state, and
// window.wastetrailLive exposes the map, the markers and a `ready` promise.

import L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./live.css";
import { baseMap, element, fetchJson, fieldList, messageControl } from "./mapkit.js";

const MICRO = 1e6;

function timeFormatter(config) {
  const format = new Intl.DateTimeFormat(config.language, {
    timeZone: config.timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  return (seconds) => (seconds === null || seconds === undefined ? "" : format.format(new Date(seconds * 1000)));
}

function legendControl(title, entries, note) {
  const control = L.control({ position: "bottomright" });
  const counts = {};
  control.onAdd = () => {
    const box = element("div", { className: "map-legend", attributes: { "data-testid": "map-legend" } });
    box.appendChild(element("h2", { text: title }));
    const list = element("ul");
    for (const entry of entries) {
      const swatch = element("span", { className: `swatch ${entry.swatch || "swatch-truck"}` });
      swatch.style.background = entry.colour;
      if (entry.border) swatch.style.borderColor = entry.border;
      const count = element("span", { className: "legend-count" });
      counts[entry.value] = count;
      const item = element("li", { attributes: { "data-legend": entry.value } },
        [swatch, element("span", { text: entry.label }), count]);
      if (entry.help) item.title = entry.help;
      list.appendChild(item);
    }
    box.appendChild(list);
    if (note) box.appendChild(element("p", { className: "legend-note", text: note }));
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  control.setCounts = (values) => {
    for (const [value, node] of Object.entries(counts)) node.textContent = values[value] ? `(${values[value]})` : "";
  };
  return control;
}

// --- the live map ----------------------------------------------------------------------------
function rowReader(columns) {
  const index = Object.fromEntries(columns.map((name, position) => [name, position]));
  return (row) => Object.fromEntries(Object.entries(index).map(([name, position]) => [name, row[position]]));
}

// Alarm bits go up to 31: test them arithmetically (JavaScript's bitwise operators are signed 32-bit).
function alarmNames(config, alarm) {
  return config.alarms.filter((entry) => Math.floor(alarm / 2 ** entry.bit) % 2 === 1).map((entry) => entry.label);
}

function flagNames(config, flags) {
  return config.flags.filter((entry) => (flags & entry.value) !== 0).map((entry) => entry.label);
}

function yesNo(text, value) {
  if (value === null || value === undefined) return text.unknown;
  return value ? text.yes : text.no;
}

function truckPopup(truck, company, config, formatTime) {
  const { text } = config;
  let manifest = null;
  if (truck.manifest_id) {
    manifest = element("a", {
      text: truck.manifest_number,
      attributes: { href: config.manifestUrl.replace("/0/", `/${truck.manifest_id}/`), "data-testid": "popup-manifest" },
    });
  }
  const state = config.states.find((entry) => entry.value === truck.state);
  const loadLabel = truck.load === null || truck.load === undefined ? text.unknown : (config.loads[truck.load] || truck.load);
  const rows = [
    [text.company, company],
    [text.state, state ? state.label : truck.state],
    [text.manifest, manifest ? null : text.none, manifest],
    [text.lastReport, formatTime(truck.time)],
    [text.speed, truck.speed === null ? "" : `${truck.speed} km/h`],
    [text.acc, yesNo(text, truck.acc)],
    [text.load, loadLabel],
    [text.cover, yesNo(text, truck.cover)],
    [text.lift, yesNo(text, truck.lift)],
  ];
  const problems = [...alarmNames(config, truck.alarm || 0), ...flagNames(config, truck.flags || 0)];
  if (problems.length) rows.push([text.problems, problems.join(", ")]);
  const track = element("a", {
    className: "map-popup-link", text: text.track,
    attributes: { href: config.trackUrl.replace("/0/", `/${truck.id}/`), "data-testid": "popup-track" },
  });
  const title = element("strong", { className: "map-popup-title", text: truck.plate, attributes: { "data-testid": "popup-plate" } });
  return element("div", { className: "map-popup truck-popup", attributes: { "data-vehicle-id": String(truck.id) } },
    [title, fieldList(rows), track]);
}

class TruckLayer {
  constructor(map, config) {
    this.map = map;
    this.config = config;
    this.colours = Object.fromEntries(config.states.map((entry) => [entry.value, entry.colour]));
    this.layer = L.featureGroup().addTo(map);
    this.markers = new Map(); // vehicle id → marker, with marker.truck the latest row
    this.companies = {};
    this.formatTime = timeFormatter(config);
  }

  style(truck) {
    return { fillColor: this.colours[truck.state] || "#495057", className: `truck truck-${truck.state}` };
  }

  popupFor(marker) {
    const truck = marker.truck;
    return truckPopup(truck, this.companies[truck.company] || "", this.config, this.formatTime);
  }

  mark(marker) {
    const path = marker.getElement();
    if (!path) return;
    const truck = marker.truck;
    path.setAttribute("data-vehicle-id", String(truck.id));
    path.setAttribute("data-truck-state", truck.state);
    path.setAttribute("data-plate", truck.plate);
    // Leaflet sets the class once; the state's colour class must follow the state.
    path.setAttribute("class", `truck truck-${truck.state} leaflet-interactive`);
  }

  put(truck) {
    const latlng = [truck.lat, truck.lon];
    let marker = this.markers.get(truck.id);
    if (!marker) {
      marker = L.circleMarker(latlng, {
        radius: 7, color: "#ffffff", weight: 1.5, fillOpacity: 0.95, ...this.style(truck),
      });
      marker.truck = truck;
      marker.on("add", () => this.mark(marker));
      marker.bindTooltip(() => element("span", { text: marker.truck.plate }), { direction: "top", offset: [0, -7] });
      marker.bindPopup(() => this.popupFor(marker), { minWidth: 220 });
      this.markers.set(truck.id, marker);
      this.layer.addLayer(marker);
      return;
    }
    marker.truck = truck;
    marker.setLatLng(latlng);
    marker.setStyle({ fillColor: this.colours[truck.state] || "#495057" });
    this.mark(marker);
    if (marker.isPopupOpen()) marker.setPopupContent(this.popupFor(marker));
  }

  apply(answer) {
    Object.assign(this.companies, answer.companies);
    const read = rowReader(answer.columns);
    const seen = new Set();
    for (const row of answer.vehicles) {
      const truck = read(row);
      seen.add(truck.id);
      if (truck.lat === null || truck.lon === null) continue; // never reported a usable position
      this.put(truck);
    }
    // A full answer is everything the user may see now: trucks no longer visible go.
    if (answer.full) {
      for (const [id, marker] of this.markers) {
        if (!seen.has(id)) {
          this.layer.removeLayer(marker);
          this.markers.delete(id);
        }
      }
    }
  }

  counts() {
    const counts = {};
    for (const marker of this.markers.values()) counts[marker.truck.state] = (counts[marker.truck.state] || 0) + 1;
    return counts;
  }

  find(plate) {
    const wanted = plate.trim().toUpperCase();
    if (!wanted) return null;
    for (const marker of this.markers.values()) {
      if (marker.truck.plate.toUpperCase().includes(wanted)) return marker;
    }
    return null;
  }
}

function searchControl(trucks, text) {
  const control = L.control({ position: "topleft" });
  control.onAdd = () => {
    const input = element("input", {
      attributes: { type: "search", placeholder: text.findPlate, "aria-label": text.findPlate, "data-testid": "find-plate" },
    });
    const form = element("form", { className: "truck-search" }, [input]);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const marker = trucks.find(input.value);
      if (!marker) {
        input.setCustomValidity(text.notFound);
        input.reportValidity();
        return;
      }
      input.setCustomValidity("");
      trucks.map.setView(marker.getLatLng(), Math.max(trucks.map.getZoom(), 14));
      marker.openPopup();
    });
    input.addEventListener("input", () => input.setCustomValidity(""));
    L.DomEvent.disableClickPropagation(form);
    return form;
  };
  return control;
}

async function startLive(container, config, state) {
  const { map, bounds } = await baseMap(container, config);
  state.map = map;
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], animate: false });
  const messages = messageControl().addTo(map);
  const legend = legendControl(config.text.legend, config.states, config.text.legendNote).addTo(map);
  const trucks = new TruckLayer(map, config);
  state.trucks = trucks;
  searchControl(trucks, config.text).addTo(map);

  let cursor = null;
  let sinceFull = 0;
  let refreshes = 0;
  const refresh = async () => {
    // Changes only, with a full answer now and then: that one also drops the trucks the user
    // may no longer see and catches what no position report changes (a manifest closed).
    const full = cursor === null || sinceFull >= config.fullEvery;
    const url = full ? config.liveUrl : `${config.liveUrl}?since=${encodeURIComponent(cursor)}`;
    const answer = await fetchJson(url);
    trucks.apply(answer);
    cursor = answer.cursor;
    sinceFull = answer.full ? 0 : sinceFull + 1;
    refreshes += 1;
    legend.setCounts(trucks.counts());
    container.setAttribute("data-trucks", String(trucks.markers.size));
    container.setAttribute("data-refreshes", String(refreshes));
  };
  const loop = async () => {
    if (!document.hidden) {
      try {
        await refresh();
        messages.hide();
        container.setAttribute("data-state", "ready");
      } catch (error) {
        console.error(error);
        messages.show(config.text.refreshFailed);
        if (!refreshes) container.setAttribute("data-state", "error");
      }
    }
    state.timer = window.setTimeout(loop, config.refreshMs);
  };
  state.refresh = refresh;
  await loop();
}

// --- a vehicle's track -----------------------------------------------------------------------
function trackPointPopup(point, config, formatTime) {
  const { text } = config;
  const rows = [
    [text.time, formatTime(point.t)],
    [text.speed, `${point.speed} km/h`],
    [text.position, `${point.lon.toFixed(6)}, ${point.lat.toFixed(6)}`],
  ];
  if (point.flags) rows.push([text.flags, flagNames(config, point.flags).join(", ")]);
  if (point.alarm) rows.push([text.alarm, alarmNames(config, point.alarm).join(", ")]);
  return element("div", { className: "map-popup" }, [fieldList(rows)]);
}

function endMarker(latlng, className, label) {
  const icon = L.divIcon({ className: `track-end ${className}`, html: "<span></span>", iconSize: [18, 18] });
  return L.marker(latlng, { icon, title: label, keyboard: true }).bindTooltip(element("span", { text: label }));
}

async function startTrack(container, config, track, state) {
  const { map, bounds } = await baseMap(container, config);
  state.map = map;
  const { text } = config;
  const formatTime = timeFormatter(config);
  const read = rowReader(track.columns);
  const points = track.points.map(read);
  const drawable = (p) => p.lat !== null && p.lon !== null && Math.abs(p.lat) <= 90 && Math.abs(p.lon) <= 180
    && !(p.lat === 0 && p.lon === 0);
  // Trusted points make the line; flagged ones are drawn apart, never joined to it, never dropped.
  const good = points.filter((p) => !p.flags);
  const flagged = points.filter((p) => p.flags && drawable(p));
  const group = L.featureGroup().addTo(map);
  const line = L.polyline(good.map((p) => [p.lat, p.lon]), { className: "track-line", color: "#1c7ed6", weight: 4, opacity: 0.85 });
  line.on("add", () => line.getElement().setAttribute("data-points", String(good.length)));
  group.addLayer(line);
  for (const point of flagged) {
    const marker = L.circleMarker([point.lat, point.lon], {
      className: "track-flagged", radius: 5, color: "#e03131", weight: 2, fillColor: "#ffffff", fillOpacity: 1, dashArray: "2 2",
    });
    marker.bindPopup(() => trackPointPopup(point, config, formatTime));
    group.addLayer(marker);
  }
  for (const point of points.filter((p) => p.alarm && !p.flags && drawable(p))) {
    const marker = L.circleMarker([point.lat, point.lon], {
      className: "track-alarm", radius: 5, color: "#ffffff", weight: 1.5, fillColor: "#e03131", fillOpacity: 1,
    });
    marker.bindPopup(() => trackPointPopup(point, config, formatTime));
    group.addLayer(marker);
  }
  for (const stop of track.stops) {
    const marker = L.circleMarker([stop.lat, stop.lon], {
      className: "track-stop", radius: 7, color: "#ffffff", weight: 2, fillColor: "#7048e8", fillOpacity: 0.9,
    });
    marker.bindTooltip(element("span", { text: `${text.stop}: ${formatTime(stop.start)} – ${formatTime(stop.end)}` }));
    group.addLayer(marker);
  }
  const ends = good.length ? good : points.filter(drawable);
  if (ends.length) {
    group.addLayer(endMarker([ends[0].lat, ends[0].lon], "track-start", text.start));
    group.addLayer(endMarker([ends[ends.length - 1].lat, ends[ends.length - 1].lon], "track-finish", text.end));
  }
  const legend = legendControl(text.legend, config.legend, track.downsampled ? text.downsampled : "");
  legend.addTo(map);
  const drawn = group.getBounds();
  if (drawn.isValid()) map.fitBounds(drawn, { padding: [30, 30], maxZoom: 16, animate: false });
  else if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], animate: false });
  container.setAttribute("data-points", String(good.length));
  container.setAttribute("data-flagged", String(flagged.length));
  container.setAttribute("data-state", "ready");
  state.line = line;
}

// --- start -----------------------------------------------------------------------------------
const container = document.getElementById("live-map");
const configNode = document.getElementById("live-config");
if (container && configNode) {
  const config = JSON.parse(configNode.textContent);
  const state = { map: null, trucks: null, ready: null };
  window.wastetrailLive = state;
  const trackNode = document.getElementById("track-data");
  const started = trackNode
    ? startTrack(container, config, JSON.parse(trackNode.textContent), state)
    : startLive(container, config, state);
  state.ready = started.catch((error) => {
    console.error(error);
    container.setAttribute("data-state", "error");
  });
}
