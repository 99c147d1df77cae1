package httpapi

// routesOperator registers the operator endpoints.
func (a *API) routesOperator() {}
