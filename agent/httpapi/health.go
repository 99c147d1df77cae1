package httpapi

// routesHealth registers the health endpoints.
func (a *API) routesHealth() {}
