package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aspect-rt/aspect-runtime/validate"
)

// entries collects repeated --entry flags.
type entries []string

func (e *entries) String() string     { return strings.Join(*e, ",") }
func (e *entries) Set(s string) error { *e = append(*e, s); return nil }

const validateHelp = `usage: aspect validate [--profile NAME] [--entry FUNCTION]... MODULE.wasm

Checks a module against a profile of package validate: exit status 0 and
"MODULE: valid (profile NAME)" when it satisfies it, 1 and the reason when
it does not, 2 for bad usage.

Flags:
`

// validateCmd checks a module against a profile of package validate:
// exit status 0 and "MODULE: valid (profile NAME)" when it satisfies it,
// 1 and the reason when it does not, 2 for bad usage (an unknown profile,
// a module that cannot be read).
func validateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", validate.NameDefault, "profile to check against: "+strings.Join(validate.ProfileNames(), ", "))
	var entry entries
	fs.Var(&entry, "entry", "require an exported `FUNCTION` with the guest ABI's signature (i32 parameters, one i32 result or none); repeatable")
	if err := parseFlags(fs, args, validateHelp, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: validate needs exactly one MODULE.wasm", errUsage)
	}
	p, err := validate.Named(*profile)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	p.Entries = append(p.Entries, entry...)
	path := fs.Arg(0)
	code, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := validate.Validate(code, p); err != nil {
		var ve *validate.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s: invalid: %w", path, err)
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: valid (profile %s)\n", path, p.Name)
	return nil
}
