package runtime

import "context"

// snapshotPlan describes how to snapshot an instance of a module.
type snapshotPlan struct{}

// prepareSnapshot returns code rewritten so that instances can be
// snapshotted, and the plan; a nil plan means Reset re-instantiates.
func prepareSnapshot(code []byte) ([]byte, *snapshotPlan, error) {
	return code, nil, nil
}

// restoreSnapshot restores the instance to its snapshot and reports whether
// it could. r.mu is held.
func (r *Runtime) restoreSnapshot(ctx context.Context) bool { return false }
