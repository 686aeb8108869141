// The API's pages: Swagger UI from the swagger-ui-bundle package, served by this server.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
