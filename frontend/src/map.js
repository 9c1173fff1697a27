// The map page (/map/): Jiangmen's districts, construction projects and receiving sites.
//
// Works with no tile server at all: government intranets are offline, so the districts from the
// bundled GeoJSON are the base map, over a plain background. When the server is configured
// with MAP_TILE_URL, that tile layer is drawn under them.
//
// The page passes its settings as JSON (#map-config, built by registry/map_views.py): layer
// URLs, tile settings, translated labels and the colours of the legend. All coordinates are
// WGS-84; a tile server in GCJ-02 (most Chinese web maps) will look offset by a few hundred metres.
//
// For browser tests and scripts, the container carries data-state ("loading", "ready", "error")
// and data-districts / data-projects / data-sites counts, and window.wastetrailMap exposes the
// Leaflet map, its layers and a `ready` promise.

import L from "leaflet";
import "leaflet/dist/leaflet.css";
import markerIcon from "leaflet/dist/images/marker-icon.png";
import markerIcon2x from "leaflet/dist/images/marker-icon-2x.png";
import markerShadow from "leaflet/dist/images/marker-shadow.png";
import "./map.css";
import { cityMap, element, fetchJson, fieldList, messageControl } from "./mapkit.js";

// Bundled image URLs are relative to this script (the build directory), wherever STATIC_URL
// puts it; Leaflet's own guess from the stylesheet does not survive content-hashed names.
const buildDirectory = new URL(".", document.currentScript.src).href;
const relative = (url) => url.replace(/^\.\//, "");
L.Icon.Default.imagePath = buildDirectory;
L.Icon.Default.mergeOptions({
  iconUrl: relative(markerIcon),
  iconRetinaUrl: relative(markerIcon2x),
  shadowUrl: relative(markerShadow),
});

// Soft land colours, four of them so that no two neighbouring districts look alike.
const LAND = { green: "#dcebc4", sand: "#f5e3b5", lavender: "#e6d8ea", peach: "#f8d5bf" };
const DISTRICT_FILLS = {
  440703: LAND.sand, // 蓬江区
  440704: LAND.lavender, // 江海区
  440705: LAND.peach, // 新会区
  440781: LAND.green, // 台山市
  440783: LAND.sand, // 开平市
  440784: LAND.green, // 鹤山市
  440785: LAND.lavender, // 恩平市
};
const DEFAULT_FILL = "#ece7da";
// Below this zoom a site's outline is a few pixels wide; show a marker at its centre instead.
const SITE_OUTLINE_MIN_ZOOM = 13;

// Popups are built as DOM nodes with textContent: names and addresses are user input.
function popupContent(title, url, rows, linkText) {
  const heading = url
    ? element("a", { className: "map-popup-title", text: title, attributes: { href: url } })
    : element("strong", { className: "map-popup-title", text: title });
  const children = [heading, fieldList(rows)];
  if (url) children.push(element("a", { className: "map-popup-link", text: linkText, attributes: { href: url } }));
  return element("div", { className: "map-popup" }, children);
}

function colourOf(entries, value, fallback) {
  const entry = entries.find((item) => item.value === value);
  return entry ? entry.colour : fallback;
}

function districtLayer(collection, config) {
  const { text, tiles } = config;
  const offline = !tiles.url;
  const baseStyle = (feature) => ({
    className: "district",
    color: "#52606d",
    weight: 1.2,
    opacity: 0.9,
    fillColor: DISTRICT_FILLS[feature.properties.adcode] || DEFAULT_FILL,
    // Over tiles, a light wash keeps the streets readable; offline, the districts are the land.
    fillOpacity: offline ? 0.95 : 0.18,
  });
  const group = L.layerGroup();
  const polygons = L.geoJSON(collection, {
    style: baseStyle,
    onEachFeature(feature, layer) {
      const { adcode, name, name_en: nameEn } = feature.properties;
      layer.on("add", () => {
        const path = layer.getElement();
        path.setAttribute("data-adcode", String(adcode));
        path.setAttribute("data-name", name);
      });
      layer.on("mouseover", () => layer.setStyle({ weight: 2.5, color: "#0b6e4f" }));
      layer.on("mouseout", () => polygons.resetStyle(layer));
      layer.bindPopup(() => popupContent(name, null, [[text.englishName, nameEn], [text.adcode, adcode]], ""));
    },
  });
  group.addLayer(polygons);
  for (const feature of collection.features) {
    const { name, name_en: nameEn, label_point: labelPoint } = feature.properties;
    if (!labelPoint) continue;
    const label = element("span", { text: name });
    if (config.showEnglishNames && nameEn) label.appendChild(element("small", { text: nameEn }));
    group.addLayer(
      L.tooltip({ permanent: true, direction: "center", className: "district-label", interactive: false })
        .setLatLng([labelPoint[1], labelPoint[0]])
        .setContent(label),
    );
  }
  group.featureCount = collection.features.length;
  group.bounds = polygons.getBounds();
  return group;
}

function projectLayer(collection, config) {
  const { text, projectStatuses } = config;
  const layer = L.geoJSON(collection, {
    pointToLayer(feature, latlng) {
      return L.circleMarker(latlng, {
        className: "project",
        radius: 6,
        color: "#ffffff",
        weight: 1.5,
        fillColor: colourOf(projectStatuses, feature.properties.status, "#495057"),
        fillOpacity: 0.95,
      });
    },
    onEachFeature(feature, marker) {
      const p = feature.properties;
      marker.on("add", () => marker.getElement().setAttribute("data-project-id", String(p.id)));
      // Names are typed by companies: always text, never markup (Leaflet renders strings as HTML).
      marker.bindTooltip(element("span", { text: p.name }), { direction: "top", offset: [0, -6] });
      marker.bindPopup(() => popupContent(p.name, p.url, [
        [text.code, p.code],
        [text.type, p.project_type_display],
        [text.status, p.status_display],
        [text.constructionUnit, p.construction_unit],
        [text.district, p.district_name],
      ], text.open));
    },
  });
  layer.featureCount = collection.features.length;
  return layer;
}

function siteLayer(collection, map, config) {
  const { text, siteKinds } = config;
  const outlines = L.featureGroup();
  const markers = L.featureGroup();
  for (const feature of collection.features) {
    const p = feature.properties;
    const colour = colourOf(siteKinds, p.kind, "#495057");
    const popup = () => popupContent(p.name, p.url, [
      [text.kind, p.kind_display],
      [text.status, p.status_display],
      [text.operator, p.operator],
      [text.openingHours, p.opening_hours],
      [text.district, p.district_name],
    ], text.open);
    const outline = L.geoJSON(feature, {
      style: { className: "site", color: colour, weight: 2, fillColor: colour, fillOpacity: 0.45 },
    });
    outline.eachLayer((shape) => {
      shape.on("add", () => shape.getElement().setAttribute("data-site-id", String(p.id)));
    });
    outline.bindTooltip(element("span", { text: p.name }), { sticky: true }).bindPopup(popup);
    outlines.addLayer(outline);
    if (p.centroid) {
      const icon = L.divIcon({
        className: `site-marker site-marker-${p.kind}`,
        html: `<span style="background:${colour}"></span>`,
        iconSize: [14, 14],
      });
      const marker = L.marker([p.centroid[1], p.centroid[0]], { icon, keyboard: true, title: p.name });
      marker.bindPopup(popup);
      markers.addLayer(marker);
    }
  }
  const group = L.layerGroup([outlines]);
  const showMarkersForZoom = () => {
    if (map.getZoom() < SITE_OUTLINE_MIN_ZOOM) group.addLayer(markers);
    else group.removeLayer(markers);
  };
  map.on("zoomend", showMarkersForZoom);
  showMarkersForZoom();
  group.featureCount = collection.features.length;
  return group;
}

function legendControl(config) {
  const { text, projectStatuses, siteKinds } = config;
  const control = L.control({ position: "bottomright" });
  control.onAdd = () => {
    const box = element("div", { className: "map-legend", attributes: { "data-testid": "map-legend" } });
    box.appendChild(element("h2", { text: text.legend }));
    const section = (title, entries, swatchClass) => {
      box.appendChild(element("h3", { text: title }));
      const list = element("ul");
      for (const entry of entries) {
        const swatch = element("span", { className: `swatch ${swatchClass}` });
        swatch.style.background = entry.colour;
        list.appendChild(element("li", {}, [swatch, element("span", { text: entry.label })]));
      }
      box.appendChild(list);
    };
    const districtSwatch = element("span", { className: "swatch swatch-district" });
    box.appendChild(element("ul", {}, [element("li", {}, [districtSwatch, element("span", { text: text.districts })])]));
    section(text.projects, projectStatuses, "swatch-project");
    section(text.sites, siteKinds, "swatch-site");
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  return control;
}

async function start(container, config, state) {
  const { text, layers: urls } = config;
  const { map, tileLayer } = cityMap(container, config);
  const overlays = {};
  const layerControl = L.control.layers(null, overlays, { collapsed: false, position: "topright" });
  if (tileLayer) layerControl.addOverlay(tileLayer, text.baseMap);
  layerControl.addTo(map);
  legendControl(config).addTo(map);
  const messages = messageControl().addTo(map);

  state.map = map;

  // Districts first: they are the base map and decide the view; points go on top of them.
  const order = [
    ["districts", text.districts, (data) => districtLayer(data, config)],
    ["projects", text.projects, (data) => projectLayer(data, config)],
    ["sites", text.sites, (data) => siteLayer(data, map, config)],
  ];
  const fetched = order.map(([name]) => fetchJson(urls[name], "application/geo+json"));
  const failures = [];
  for (const [index, [name, label, build]] of order.entries()) {
    try {
      const layer = build(await fetched[index]);
      layer.addTo(map);
      layerControl.addOverlay(layer, label);
      state.layers[name] = layer;
      state.counts[name] = layer.featureCount;
      container.setAttribute(`data-${name}`, String(layer.featureCount));
      if (name === "districts") {
        if (layer.bounds.isValid()) map.fitBounds(layer.bounds, { padding: [20, 20], animate: false });
      }
    } catch (error) {
      console.error(error);
      failures.push(label);
    }
  }
  // Sites are areas, projects are points: keep the points clickable above the site outlines.
  if (state.layers.projects) state.layers.projects.bringToFront();
  if (failures.length) {
    messages.show(text.loadFailed.replace("%(layers)s", failures.join(", ")));
    container.setAttribute("data-state", "error");
  } else {
    container.setAttribute("data-state", "ready");
  }
}

const container = document.getElementById("map");
const configNode = document.getElementById("map-config");
if (container && configNode) {
  const config = JSON.parse(configNode.textContent);
  const state = { map: null, layers: {}, counts: {}, ready: null };
  window.wastetrailMap = state;
  state.ready = start(container, config, state).catch((error) => {
    console.error(error);
    container.setAttribute("data-state", "error");
  });
}
