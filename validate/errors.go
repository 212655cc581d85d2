package validate

import (
	"errors"
	"fmt"
)

// ErrValidation is matched by every *ValidationError: the module does not
// satisfy the profile.
var ErrValidation = errors.New("validate: module refused")

// ErrUnknownProfile reports a profile name Named does not know.
var ErrUnknownProfile = errors.New("validate: unknown profile")

// Rule names the rule a module broke.
type Rule string

// Rules. The first four come from the WebAssembly specification and the
// implementation limits every profile has; the others from the profile.
const (
	// RuleMalformed: not a binary WebAssembly module (bad magic or
	// version, truncated or over-long encodings, unknown opcodes, …).
	RuleMalformed Rule = "malformed"
	// RuleInvalid: a well-formed module that does not validate (type
	// mismatch, index out of range, duplicate export, …).
	RuleInvalid Rule = "invalid"
	// RuleImplementationLimit: over a limit every engine has (50,000
	// locals, 10⁶ functions, 7,654,321 bytes per function body, …).
	RuleImplementationLimit Rule = "implementation-limit"
	// RuleReservedName: the module uses a name the runtime injects
	// (imports aspect.out_of_gas, aspect.call_depth_exceeded,
	// aspect.yield; exports __gas_counter__, __call_depth__, __yield_at__,
	// __yield_countdown__).
	RuleReservedName Rule = "reserved-name"
	// RuleFeature: a proposal the profile does not allow (Feature names
	// it).
	RuleFeature Rule = "feature"
	// RuleNondeterministic: a float instruction a deterministic profile
	// refuses (Reason names it).
	RuleNondeterministic Rule = "nondeterministic"
	// RuleStart: a start section where the profile allows none.
	RuleStart Rule = "start"
	// RuleImport: an import the profile does not allow.
	RuleImport Rule = "import"
	// RuleExport: a required export missing or of the wrong type.
	RuleExport Rule = "export"

	// Structural limits (Limits): Value is the module's, Limit the
	// profile's.
	RuleCodeSize      Rule = "code-size"
	RuleFunctionSize  Rule = "function-size"
	RuleFunctions     Rule = "functions"
	RuleLocals        Rule = "locals"
	RuleGlobals       Rule = "globals"
	RuleNesting       Rule = "nesting"
	RuleLoopNesting   Rule = "loop-nesting"
	RuleBrTable       Rule = "br-table"
	RuleTableSize     Rule = "table-size"
	RuleDataSize      Rule = "data-size"
	RuleMemoryInitial Rule = "memory-initial"
	RuleMemoryMaximum Rule = "memory-maximum"
)

// ValidationError says why a module does not satisfy a profile: the rule
// broken, what broke it and where. It matches ErrValidation with
// errors.Is, and the metering error it comes from, if any (Err).
type ValidationError struct {
	// Profile is the profile's name.
	Profile string
	// Rule is the rule broken.
	Rule Rule
	// Reason describes the violation, e.g. "control nesting depth 1025",
	// "import env.f (i32) -> i32 is not allowed".
	Reason string
	// Feature names the proposal, for RuleFeature (e.g. "multi-value",
	// "simd").
	Feature string
	// Value and Limit are the module's value and the profile's limit, for
	// the structural limits. Value is the first value found over the
	// limit: for RuleLocals, the locals declared up to the first
	// declaration past it.
	Value, Limit uint64
	// Func is the index of the function (imported functions included)
	// whose body holds the violation, -1 outside code.
	Func int
	// Offset is the byte offset in the module of the violation, -1 when
	// it has none (a missing export, a whole-module size). For a module
	// with extended constant expressions, validated once they are folded,
	// offsets are those of the folded module.
	Offset int
	// Err is the error of the parser or validator that found the
	// violation (a *metering.ModuleError, *metering.UnsupportedFeatureError
	// or *metering.NondeterministicError), nil for profile rules.
	Err error
}

// Error implements error: "validate: profile NAME: RULE: REASON (func F,
// offset 0xO)".
func (e *ValidationError) Error() string {
	s := fmt.Sprintf("validate: profile %s: %s: %s", e.Profile, e.Rule, e.Reason)
	switch {
	case e.Func >= 0 && e.Offset >= 0:
		s += fmt.Sprintf(" (func %d, offset %#x)", e.Func, e.Offset)
	case e.Offset >= 0:
		s += fmt.Sprintf(" (offset %#x)", e.Offset)
	case e.Func >= 0:
		s += fmt.Sprintf(" (func %d)", e.Func)
	}
	return s
}

// Unwrap returns ErrValidation and Err (if any).
func (e *ValidationError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrValidation, e.Err}
	}
	return []error{ErrValidation}
}
