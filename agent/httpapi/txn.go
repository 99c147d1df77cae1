package httpapi

// routesTxn registers the txn endpoints.
func (a *API) routesTxn() {}
