/* Starts the vendored Swagger UI on this hub's own OpenAPI document (/docs). No validator badge:
   that would ask a public server about our schema. */
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null });
