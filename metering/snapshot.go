package metering

import (
	"fmt"
	"strconv"
)

// GlobalExportPrefix starts the export names [PrepareSnapshot] gives the
// mutable globals a module does not export: GlobalExportPrefix followed by
// the global's index in decimal, e.g. "__aspect_global_3". A module that
// already exports a name with this prefix is rejected with
// [ErrReservedName] (for example a module PrepareSnapshot already rewrote).
const GlobalExportPrefix = "__aspect_global_"

// MemoryExport is the export name [PrepareSnapshot] gives the memory of a
// module that does not export it. It is reserved like GlobalExportPrefix.
const MemoryExport = "__aspect_memory"

// SnapshotResult is a module prepared for snapshots by [PrepareSnapshot].
type SnapshotResult struct {
	// Module is the input module with its memory and every mutable global
	// exported: those it did not export under MemoryExport and
	// GlobalExportPrefix + index, appended to the export section. Nothing else changes: no index moves, every other
	// section is copied byte for byte.
	Module []byte
	// Globals lists the export names of all the mutable globals of the
	// module (imported ones included), in global index order: the existing
	// export name of a global the module exported (the first one if it had
	// several), else the injected one. The globals injected by [Instrument]
	// (GasCounterExport and CallDepthExport, or YieldCountdownExport) are
	// among them when the input is an instrumented module.
	Globals []string
	// Memory reports whether the module has a memory (it has at most one).
	Memory bool
	// MemoryExports lists the export names of the memory in Module, in
	// export order (MemoryExport if the input did not export it); empty if
	// there is no memory.
	MemoryExports []string
	// Restorable reports whether an instance of Module can be returned to
	// an earlier state by writing back its linear memory (if its size did
	// not change) and the values of Globals. See Reason when it is false.
	Restorable bool
	// Reason says why the module is not restorable ("" if it is), e.g.
	// "table.set at offset 0x4d (func 3)" or "imports a memory".
	Reason string
}

// PrepareSnapshot validates wasm and returns it rewritten so that the state
// of its instances can be saved and restored through exports alone — the
// linear memory and the mutable globals, exported if they were not —
// together with whether that is enough to restore an instance exactly.
//
// An instance is restorable by memory and globals unless its state lives
// elsewhere too:
//
//   - the code contains an instruction that changes a table or drops a
//     segment: table.set, table.grow, table.fill, table.copy, table.init,
//     elem.drop or data.drop (memory.init alone only writes memory, which a
//     snapshot restores; after a data.drop it would trap, so data.drop
//     makes the module non-restorable);
//   - the module imports a table, a memory or a mutable global: state shared
//     with its importer, which a snapshot of one instance cannot own;
//   - the module exports a table, which its user can change from outside;
//   - a mutable global holds a reference (funcref, externref): its value
//     cannot be saved as a number.
//
// Exporting the memory or a global does not prevent restoring: both are
// part of the snapshot. A module with more than one memory is rejected by
// validation (*UnsupportedFeatureError "multi-memory"), like every feature
// [Instrument] does not accept. Whether the memory grew since the snapshot
// is for the runtime to check when it restores.
//
// PrepareSnapshot composes with Instrument: run on an instrumented module,
// it treats the injected imports and exports as ordinary ones, so
// GasCounterExport and CallDepthExport (and YieldCountdownExport) are simply globals
// that are already exported. Instrumenting a prepared module works too (its injected globals
// come after the module's own, which keep their index).
//
// Errors are those of Instrument for a module that does not validate, is too
// large or uses an unsupported feature; ErrReservedName reports an export
// name starting with GlobalExportPrefix or equal to MemoryExport. wasm is
// not modified and not retained.
func PrepareSnapshot(wasm []byte) (*SnapshotResult, error) {
	m, err := parseModule(wasm, true)
	if err != nil {
		return nil, err
	}
	cfg := &Config{}
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	p := &codePass{m: m, c: c, cfg: cfg, validateOnly: true}
	for i := range m.code {
		if err := p.function(i); err != nil {
			return nil, err
		}
	}

	res := &SnapshotResult{Restorable: true, Memory: m.hasMemory, MemoryExports: m.memExports}
	notRestorable := func(format string, args ...any) {
		if res.Restorable {
			res.Restorable, res.Reason = false, fmt.Sprintf(format, args...)
		}
	}
	if p.stateOp != "" {
		notRestorable("%s at offset %#x (func %d)", p.stateOp, p.stateOff, p.stateFunc)
	}
	if m.numImportedTables > 0 {
		notRestorable("imports a table")
	}
	if m.importsMemory {
		notRestorable("imports a memory")
	}
	if m.exportsTable {
		notRestorable("exports a table")
	}

	// The export name of every mutable global; new exports for the others.
	exported := make(map[uint32]string, len(m.globalExports))
	for _, e := range m.globalExports {
		if _, dup := exported[e.index]; !dup {
			exported[e.index] = e.name
		}
	}
	var extra []byte
	added := 0
	if m.hasMemory && len(m.memExports) == 0 {
		extra = appendName(extra, MemoryExport)
		extra = append(extra, 0x02, 0x00)
		added++
		res.MemoryExports = []string{MemoryExport}
	}
	for i, g := range m.globals {
		if !g.mut {
			continue
		}
		idx := uint32(i)
		if idx < m.numImportedGlobals {
			notRestorable("imports mutable global %d", idx)
		}
		if g.t == tFuncRef || g.t == tExternRef {
			notRestorable("mutable global %d holds a reference", idx)
		}
		name, ok := exported[idx]
		if !ok {
			name = GlobalExportPrefix + strconv.FormatUint(uint64(idx), 10)
			extra = appendName(extra, name)
			extra = append(extra, 0x03)
			extra = appendU32(extra, idx)
			added++
		}
		res.Globals = append(res.Globals, name)
	}
	if m.numExports+added > maxExports {
		return nil, tooLarge(-1, "too many exports once every mutable global is exported: %d", m.numExports+added)
	}

	res.Module = m.layout(append(make([]byte, 0, len(wasm)+len(extra)+8), wasmHeader...), func(id byte) []byte {
		var s *section
		if k := m.secIdx[id]; k >= 0 {
			s = &m.sections[k]
		}
		if id != secExport || added == 0 {
			if s == nil {
				return nil
			}
			return m.b[s.start:s.end]
		}
		content := appendU32(nil, uint32(m.numExports+added))
		if s != nil {
			content = append(content, m.b[m.afterCount(s):s.end]...)
		}
		return append(content, extra...)
	}, func(out []byte, s *section) []byte {
		return appendSection(out, secCustom, m.b[s.start:s.end])
	})
	return res, nil
}
