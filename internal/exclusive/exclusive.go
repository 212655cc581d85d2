// Package exclusive lets package pool tell package runtime that it owns a
// runtime exclusively, without an exported API that a user could misuse.
//
// A runtime marked exclusive skips its lock: every operation on it
// (Call, CallWith, Reset, Close...) runs without taking the runtime's
// mutex, which saves the two atomic operations of the lock and unlock per
// call. That is safe only while its owner runs one operation on it at a
// time (from any goroutine, ordered by the owner's own synchronization)
// and every handle on it (runtime.Runtime.Handle, runtime.HandleCell) is
// revoked: a handle's calls take the lock, which an exclusive runtime's
// calls would not respect. The pool marks the instances it creates, whose
// runtimes never leave it, unmarks an instance before it lends a handle on
// it (Pool.Runtime, Pool.Do), and marks it again when Pool.Call leases it
// after the handle was revoked (a handle made from it is revoked with it).
package exclusive

// Set marks rt, a *runtime.Runtime that is not a handle, exclusive or
// not. Package runtime sets it when it is initialized; it is called only
// by rt's owner, between operations on rt, and marks rt only when every
// handle on it is revoked: it then waits for an operation that a handle
// revoked since it began may still be running.
var Set func(rt any, on bool)
