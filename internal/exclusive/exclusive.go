// Package exclusive lets package pool tell package runtime that it owns a
// runtime exclusively, without an exported API that a user could misuse.
//
// A runtime marked exclusive skips its lock: every operation on it
// (Call, CallWith, Reset, Close...) runs without taking the runtime's
// mutex, which saves the two atomic operations of the lock and unlock per
// call. That is safe only while its owner runs one operation on it at a
// time (from any goroutine, ordered by the owner's own synchronization)
// and no handle on it exists (runtime.Runtime.Handle,
// runtime.HandleCell): a handle's calls take the lock, which an exclusive
// runtime's calls would not respect. The pool marks the instances it
// creates, whose runtimes never leave it, and unmarks an instance before
// it lends the first handle on it (Pool.Runtime, Pool.Do): from then on the
// instance locks as any runtime, for good, since a handle, even revoked,
// may still be running an operation.
package exclusive

// Set marks rt, a *runtime.Runtime that is not a handle, exclusive or
// not. Package runtime sets it when it is initialized; it is called only
// by rt's owner, between operations on rt.
var Set func(rt any, on bool)
