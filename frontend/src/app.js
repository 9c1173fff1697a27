// Loaded by every page: htmx for partial page updates.
import htmx from "htmx.org";

window.htmx = htmx;

// Django refuses unsafe requests without the CSRF token. Forms carry it as a hidden field, but
// an hx-post/hx-delete on a button has no form around it, so send the token as a header too.
function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get") {
    const token = csrfToken();
    if (token) event.detail.headers["X-CSRFToken"] = token;
  }
});

// A signature may record where it was given: forms marked data-geolocate fill their lon/lat
// fields when the user lets the browser share its position. Without it they sign all the same.
document.addEventListener("DOMContentLoaded", () => {
  const forms = document.querySelectorAll("form[data-geolocate]");
  if (!forms.length || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    (position) => {
      forms.forEach((form) => {
        const lon = form.querySelector("input[name=lon]");
        const lat = form.querySelector("input[name=lat]");
        if (lon && lat) {
          lon.value = position.coords.longitude.toFixed(6);
          lat.value = position.coords.latitude.toFixed(6);
        }
      });
    },
    () => {},
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
  );
});
