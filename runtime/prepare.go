package runtime

// preparation records what prepare did to a module's code before it was
// compiled, for the instances created from it.
type preparation struct {
	// snapshot is set when instances can be reset by restoring memory and
	// globals (see snapshot.go); nil means Reset re-instantiates.
	snapshot *snapshotPlan
}

// prepare rewrites code before compilation: gas metering when configured,
// then the rewrite that makes snapshots possible. The result is what the
// engine compiles (and what the disk cache is keyed by).
func prepare(code []byte, cfg config) ([]byte, *preparation, error) {
	prep := &preparation{}
	var err error
	if code, prep.snapshot, err = prepareSnapshot(code); err != nil {
		return nil, nil, err
	}
	return code, prep, nil
}
