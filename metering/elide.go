package metering

// Entry checkpoints without gas, elided (Config.LimitsOnly with
// Config.YieldInterval). A function only the module's own direct calls can
// reach — not exported, not the start function, not in an element segment,
// not named by ref.func (module.isDeclared covers all of these) — that has
// no loop has no entry checkpoint when its weight W, its own instructions
// plus the weights of the functions without checkpoint it calls, is at most
// maxElidedWeight: each of its call sites counts W instead, in the weight
// of the checkpoint owning the call. Every instruction still belongs to a
// checkpoint passed before it runs, so the countdown is charged for it as
// before, only earlier, and the rule of Config.YieldInterval holds with a
// checkpoint's weight that includes its calls of such functions. A
// function on a cycle of such calls keeps its checkpoint (a recursion
// always passes one).
//
// Small helpers are the functions this removes most: measured on
// as/greet.wasm on wazero (BenchmarkHostCallback), whose allocator calls
// are such functions, the entry checkpoints they no longer run were most
// of the instrumentation's cost.

// maxElidedWeight bounds the weight of a function without entry checkpoint
// (and so what one call site adds to its checkpoint).
const maxElidedWeight = 1024

// maxElidedBytes bounds the body size of a function looked at for elision
// (the look is a validation pass over the body, besides the code pass's).
const maxElidedBytes = 4 * maxElidedWeight

// planElision decides, before the code pass, which functions have no entry
// checkpoint: it validates the body of each candidate once to learn its
// loops, weight and direct calls, and sets p.elided (nil when none is
// elided).
func (p *codePass) planElision() {
	m := p.m
	n := len(m.code)
	candidate := make([]bool, n)
	some := false
	for i := range n {
		f := uint32(i) + m.numImportedFuncs
		// A body of more bytes than maxElidedBytes is unlikely to hold at
		// most maxElidedWeight instructions: it keeps its checkpoint
		// without being looked at.
		e := m.code[i]
		candidate[i] = !m.isDeclared(f) && !(m.hasStart && m.startFunc == f) && e.end-e.start <= maxElidedBytes
		some = some || candidate[i]
	}
	if !some {
		return
	}
	// own[i] is the entry checkpoint's weight of a candidate without
	// loops, 0 for the others; its direct calls of defined functions are
	// callees[calls[i]:calls[i+1]].
	own := make([]uint64, n)
	calls := make([]int, n+1)
	var callees []uint32
	for i := range n {
		calls[i] = len(callees)
		if !candidate[i] {
			continue
		}
		if p.function(i) != nil {
			// The code pass reports it, with the first error in function
			// order, as without elision.
			return
		}
		if p.nloops > 0 {
			continue
		}
		own[i] = p.patches[0].val
		for _, pt := range p.patches {
			if pt.kind == pFunc {
				callees = append(callees, uint32(pt.val)-m.numImportedFuncs)
			}
		}
	}
	calls[n] = len(callees)

	// The weights, depth first with an explicit stack; a callee met again
	// while on the stack closes a cycle and keeps its checkpoint.
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]uint8, n)
	w := make([]uint64, n) // the weight of an elided function, else 0
	type frame struct {
		f    int
		next int // the next call of f to visit
		sum  uint64
	}
	var stack []frame
	elided := false
	for root := range n {
		if own[root] == 0 || state[root] != unseen {
			continue
		}
		state[root] = onStack
		stack = append(stack[:0], frame{f: root, next: calls[root], sum: own[root]})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < calls[top.f+1] {
				g := int(callees[top.next])
				top.next++
				switch state[g] {
				case unseen:
					if own[g] == 0 {
						state[g] = done // keeps its checkpoint: w[g] = 0
						continue
					}
					state[g] = onStack
					stack = append(stack, frame{f: g, next: calls[g], sum: own[g]})
				case onStack:
					own[g] = 0 // on a cycle: keeps its checkpoint
				default:
					top.sum = min(top.sum+w[g], maxElidedWeight+1)
				}
				continue
			}
			f := top.f
			if own[f] != 0 && top.sum <= maxElidedWeight {
				w[f] = top.sum
				elided = true
			}
			state[f] = done
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				parent := &stack[len(stack)-1]
				parent.sum = min(parent.sum+w[f], maxElidedWeight+1)
			}
		}
	}
	if elided {
		p.elided = w
	}
}
