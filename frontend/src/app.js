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
