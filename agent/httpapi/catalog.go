package httpapi

// routesCatalog registers the catalog endpoints.
func (a *API) routesCatalog() {}
