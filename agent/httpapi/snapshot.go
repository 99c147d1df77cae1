package httpapi

// routesSnapshot registers the snapshot endpoints.
func (a *API) routesSnapshot() {}
