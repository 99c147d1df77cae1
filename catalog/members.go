package catalog

import (
	"fmt"
	"time"
)

// MemberStatusLeft is the status of a node that left gracefully.
const MemberStatusLeft = "left"

// Member records a node that left the cluster gracefully: its catalog
// entries are gone, but membership lists it as left (not failed) until
// the leader reaps the record.
type Member struct {
	Node       string
	Address    string
	Datacenter string
	Status     string    // MemberStatusLeft
	LeftTime   time.Time // stamped by the leader (the log entry's time)
	RaftIndex
}

// MemberOp is a membership operation.
type MemberOp string

// Membership operations.
const (
	// MemberLeave deregisters Node with everything on it (its sessions
	// invalidated, as a deregistration does) and records it as left.
	MemberLeave MemberOp = "leave"
	// MemberReap forgets the left records whose LeftTime is before Before.
	MemberReap MemberOp = "reap"
)

// MemberRequest is a membership change.
type MemberRequest struct {
	Op     MemberOp
	Node   string    // for MemberLeave
	Before time.Time // for MemberReap
}

func (*MemberRequest) CommandType() CommandType { return CmdMember }

// Validate checks a membership change.
func (r *MemberRequest) Validate() error {
	switch r.Op {
	case MemberLeave:
		return checkName("Node", r.Node, true)
	case MemberReap:
		if r.Before.IsZero() {
			return invalid("Before", "must be set")
		}
		return nil
	}
	return invalid("Op", "unknown membership operation %q", r.Op)
}

// member applies a membership command.
func (a *applier) member(r *MemberRequest) error {
	switch r.Op {
	case MemberLeave:
		return a.memberLeave(r.Node)
	case MemberReap:
		return a.memberReap(r.Before)
	}
	return invalid("Op", "unknown membership operation %q", r.Op)
}

func (a *applier) memberLeave(node string) error {
	m := Member{Node: node, Status: MemberStatusLeft, LeftTime: a.now,
		RaftIndex: RaftIndex{CreateIndex: a.idx, ModifyIndex: a.idx}}
	var n Node
	found, err := a.get(kNode(node), &n)
	if err != nil {
		return err
	}
	if found {
		m.Address, m.Datacenter = n.Address, n.Datacenter
		if err := a.deleteNode(&n); err != nil {
			return err
		}
	}
	if err := a.put(kMember(node), &m); err != nil {
		return err
	}
	a.bumpTable(TableMembers)
	ev := m
	return a.emit(Event{Type: EventPut, Table: TableMembers, Key: node, Member: &ev})
}

func (a *applier) memberReap(before time.Time) error {
	left, err := prefixValues[Member](a.txn, []byte(pfxMember))
	if err != nil {
		return err
	}
	for _, m := range left {
		if !m.LeftTime.Before(before) {
			continue
		}
		if err := a.forgetMember(m.Node); err != nil {
			return err
		}
	}
	return nil
}

// forgetMember removes a node's left record, if it has one: when the node
// is reaped, or registers again.
func (a *applier) forgetMember(node string) error {
	found, err := a.get(kMember(node), new(Member))
	if !found || err != nil {
		return err
	}
	if err := a.del(kMember(node)); err != nil {
		return err
	}
	a.bumpTable(TableMembers)
	return a.emit(Event{Type: EventDelete, Table: TableMembers, Key: node})
}

// LeftMembers returns the nodes recorded as left, ordered by name, and the
// members table's index.
func (tx *ReadTx) LeftMembers() ([]*Member, uint64) {
	out, err := prefixValues[Member](tx.txn, []byte(pfxMember))
	if err != nil {
		tx.fail(fmt.Errorf("left members: %w", err))
	}
	return out, tx.TableIndex(TableMembers)
}
