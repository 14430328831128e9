/* One API page: Swagger UI over the spec embedded in the page, calling the sandbox it names.
   Nothing is fetched: the spec is inline (so the page works from file://) and the validator
   badge, which would call validator.swagger.io, is off. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("docs-config").textContent);
  var root = config.sandbox + "/";

  function hasAuthorization(headers) {
    return Object.keys(headers || {}).some(function (name) {
      return name.toLowerCase() === "authorization";
    });
  }

  var ui = SwaggerUIBundle({
    spec: config.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 1,
    displayOperationId: true,
    displayRequestDuration: true,
    showCommonExtensions: true,
    /* The default workspace's token on every call to this sandbox that carries no
       credentials of its own (token endpoints excepted: they take the client's). */
    requestInterceptor: function (req) {
      var toSandbox = req.url.indexOf(root) === 0;
      var toTokenUrl = config.tokenUrls.indexOf(req.url.split("?")[0]) !== -1;
      if (toSandbox && !toTokenUrl && !hasAuthorization(req.headers)) {
        req.headers = req.headers || {};
        req.headers.Authorization = "Bearer " + config.token;
      }
      return req;
    },
    onComplete: function () {
      config.schemes.bearer.forEach(function (name) { ui.preauthorizeApiKey(name, config.token); });
      config.schemes.basic.forEach(function (name) {
        ui.preauthorizeBasic(name, config.clientId, config.clientSecret);
      });
      document.body.setAttribute("data-docs-ready", "true");
    }
  });
  ui.initOAuth({ clientId: config.clientId, clientSecret: config.clientSecret });
  window.sandboxDocs = ui;
}());
