package httpapi

// routesSession registers the session endpoints.
func (a *API) routesSession() {}
