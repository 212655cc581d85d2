// Package doccheck holds a test that keeps the project's rule that every
// exported name has a doc comment; it has no API.
package doccheck
