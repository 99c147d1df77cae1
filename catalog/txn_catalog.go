package catalog

// txnNode runs a node operation of a transaction.
func (a *applier) txnNode(op *TxnNodeOp) ([]TxnResult, error) {
	n := op.Node
	var cur Node
	found, err := a.get(kNode(n.Node), &cur)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if !found {
			return nil, opFailed("node %q doesn't exist", n.Node)
		}
		return []TxnResult{{Node: &cur}}, nil
	case "cas":
		if !casMatches(found, cur.ModifyIndex, n.ModifyIndex) {
			return nil, opFailed("failed to set node %q, index is stale", n.Node)
		}
		fallthrough
	case "set":
		stored, err := a.ensureNode(&n, false)
		return []TxnResult{{Node: stored}}, err
	case "delete-cas":
		if !found || cur.ModifyIndex != n.ModifyIndex {
			return nil, opFailed("failed to delete node %q, index is stale", n.Node)
		}
		fallthrough
	case "delete":
		if found {
			err = a.deleteNode(&cur)
		}
		return nil, err
	}
	return nil, opFailed("unknown node verb %q", op.Verb)
}

// txnService runs a service operation of a transaction.
func (a *applier) txnService(op *TxnServiceOp) ([]TxnResult, error) {
	svc := op.Service
	svc.Node = op.Node
	var cur Service
	found, err := a.get(kService(svc.Node, svc.ID), &cur)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if !found {
			return nil, opFailed("service %q on node %q doesn't exist", svc.ID, svc.Node)
		}
		return []TxnResult{{Service: &cur}}, nil
	case "cas":
		if !casMatches(found, cur.ModifyIndex, svc.ModifyIndex) {
			return nil, opFailed("failed to set service %q on node %q, index is stale", svc.ID, svc.Node)
		}
		fallthrough
	case "set":
		if err := a.txnNeedNode(svc.Node); err != nil {
			return nil, err
		}
		stored, err := a.ensureService(&svc)
		return []TxnResult{{Service: stored}}, err
	case "delete-cas":
		if !found || cur.ModifyIndex != svc.ModifyIndex {
			return nil, opFailed("failed to delete service %q on node %q, index is stale", svc.ID, svc.Node)
		}
		fallthrough
	case "delete":
		if found {
			err = a.deleteService(&cur)
		}
		return nil, err
	}
	return nil, opFailed("unknown service verb %q", op.Verb)
}

// txnCheck runs a check operation of a transaction.
func (a *applier) txnCheck(op *TxnCheckOp) ([]TxnResult, error) {
	c := op.Check
	var cur Check
	found, err := a.get(kCheck(c.Node, c.CheckID), &cur)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case "get":
		if !found {
			return nil, opFailed("check %q on node %q doesn't exist", c.CheckID, c.Node)
		}
		return []TxnResult{{Check: &cur}}, nil
	case "cas":
		if !casMatches(found, cur.ModifyIndex, c.ModifyIndex) {
			return nil, opFailed("failed to set check %q on node %q, index is stale", c.CheckID, c.Node)
		}
		fallthrough
	case "set":
		if err := a.txnNeedNode(c.Node); err != nil {
			return nil, err
		}
		if err := a.fillCheckService(&c, nil); err != nil {
			return nil, err
		}
		stored, err := a.ensureCheck(&c)
		return []TxnResult{{Check: stored}}, err
	case "delete-cas":
		if !found || cur.ModifyIndex != c.ModifyIndex {
			return nil, opFailed("failed to delete check %q on node %q, index is stale", c.CheckID, c.Node)
		}
		fallthrough
	case "delete":
		if found {
			err = a.deleteCheck(&cur)
		}
		return nil, err
	}
	return nil, opFailed("unknown check verb %q", op.Verb)
}

// txnNeedNode fails the operation if node does not exist.
func (a *applier) txnNeedNode(node string) error {
	found, err := a.get(kNode(node), new(Node))
	if err == nil && !found {
		err = opFailed("node %q doesn't exist", node)
	}
	return err
}
