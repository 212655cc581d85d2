package validate_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aspect-rt/aspect-runtime/validate"
)

var knownRules = map[validate.Rule]bool{}

func init() {
	for _, r := range []validate.Rule{
		validate.RuleMalformed, validate.RuleInvalid, validate.RuleImplementationLimit, validate.RuleReservedName,
		validate.RuleFeature, validate.RuleNondeterministic, validate.RuleStart, validate.RuleImport, validate.RuleExport,
		validate.RuleCodeSize, validate.RuleFunctionSize, validate.RuleFunctions, validate.RuleLocals, validate.RuleGlobals,
		validate.RuleNesting, validate.RuleLoopNesting, validate.RuleBrTable, validate.RuleTableSize, validate.RuleDataSize,
		validate.RuleMemoryInitial, validate.RuleMemoryMaximum,
	} {
		knownRules[r] = true
	}
}

// FuzzValidate checks, for any input and every named profile, that
// Validate never panics, returns nil or a *ValidationError of a known rule
// for that profile with a position inside the input, gives the same
// verdict twice, leaves its input unchanged, and that the profiles agree
// with each other: what mvp, deterministic or aspect accept, wasm2
// accepts, and what wasm2 accepts, the default profile accepts; given
// several profiles it reports the first one's refusal. Seeds: the
// committed corpus (testdata/corpus) and the conformance fixtures up to
// 20 KiB (larger inputs make mutation and minimization slow; the golden
// verdicts cover them).
func FuzzValidate(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(corpusDir, "*.wasm"))
	more, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.wasm"))
	for _, s := range append(seeds, more...) {
		if b, err := os.ReadFile(s); err == nil && len(b) <= 20<<10 {
			f.Add(b)
		}
	}
	var profiles []validate.Profile
	for _, n := range validate.ProfileNames() {
		p, _ := validate.Named(n)
		profiles = append(profiles, p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		valid := map[string]bool{}
		for _, p := range profiles {
			err := validate.Validate(b, p)
			valid[p.Name] = err == nil
			if err != nil {
				var ve *validate.ValidationError
				if !errors.As(err, &ve) || !errors.Is(err, validate.ErrValidation) {
					t.Fatalf("%s: untyped error %T: %v", p.Name, err, err)
				}
				if !knownRules[ve.Rule] || ve.Profile != p.Name || ve.Reason == "" {
					t.Fatalf("%s: bad error %+v", p.Name, ve)
				}
				if ve.Offset < -1 || ve.Offset > len(b) || ve.Func < -1 {
					t.Fatalf("%s: position func %d offset %d outside the input (%d bytes): %v", p.Name, ve.Func, ve.Offset, len(b), ve)
				}
			}
			again := validate.Validate(b, p)
			if (err == nil) != (again == nil) || err != nil && err.Error() != again.Error() {
				t.Fatalf("%s: %v, then %v", p.Name, err, again)
			}
			if !bytes.Equal(b, orig) {
				t.Fatalf("%s: input modified", p.Name)
			}
		}
		for _, n := range []string{"mvp", "deterministic", "aspect"} {
			if valid[n] && !valid["wasm2"] {
				t.Fatalf("valid under %s but not wasm2: %v", n, validate.Validate(b, profiles[2]))
			}
		}
		if valid["wasm2"] && !valid["default"] {
			t.Fatalf("valid under wasm2 but not default: %v", validate.Validate(b))
		}
		first := validate.Validate(b, profiles[1])
		both := validate.Validate(b, profiles[1], profiles[4])
		if first != nil && (both == nil || both.Error() != first.Error()) {
			t.Fatalf("mvp then aspect: %v, want mvp's %v", both, first)
		}
	})
}
