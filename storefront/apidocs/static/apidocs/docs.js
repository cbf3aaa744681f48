// Swagger UI over /api/schema/. The page's session authenticates "Try it out" requests;
// unsafe methods carry the CSRF token, as the dashboard's own requests do.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  const { schemaUrl, csrfToken } = document.body.dataset;
  window.ui = SwaggerUIBundle({
    url: schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: (request) => {
      if (!["GET", "HEAD", "OPTIONS"].includes((request.method || "GET").toUpperCase())) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
});
