package pool

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestLeasesNeverShareAnInstance: 8 goroutines lease, through Runtime, Do
// and Call, instances of two keys from keep-state pools whose capacity is below
// (2) and at (8) the number of goroutines, so that leases take the
// lock-free path (the shard's slot) and the locked one, instances
// outnumber the capacity and are evicted, and some leases hold two
// instances at once. An instance is never held by two leases at once (the
// test records the holder of each leased instance), a lease's calls see
// its own registry's function, and a keep-state instance's counter, which
// only its holder's calls advance, advances by one per call within a
// lease. Run it with -race.
func TestLeasesNeverShareAnInstance(t *testing.T) {
	ctx := context.Background()
	greet := fixtures.MustBytes("as/greet.wasm")
	echo := fixtures.MustBytes("as/echo.wasm")
	for _, engine := range runtime.Engines() {
		for _, capacity := range []int{2, 8} {
			t.Run(fmt.Sprintf("%s/capacity=%d", engine, capacity), func(t *testing.T) {
				p := New(capacity, WithKeepState())
				defer p.Close(ctx)
				var holders sync.Map // *instance -> the lease's id
				hold := func(in *instance, id string) error {
					if other, taken := holders.LoadOrStore(in, id); taken {
						return fmt.Errorf("lease %s got the instance lease %s holds", id, other)
					}
					return nil
				}
				release := func(in *instance) { holders.Delete(in) }
				// counted calls counter twice, yielding in between: the
				// second result follows the first unless another lease
				// calls the instance meanwhile.
				counted := func(rt *runtime.Runtime, id string) error {
					a, err := runtime.CallAs[int64](ctx, rt, "counter")
					if err != nil {
						return err
					}
					goruntime.Gosched()
					b, err := runtime.CallAs[int64](ctx, rt, "counter")
					if err != nil {
						return err
					}
					if b != a+1 {
						return fmt.Errorf("lease %s: counter %d then %d: another lease called the instance", id, a, b)
					}
					return nil
				}
				greeted := func(rt *runtime.Runtime, id string) error {
					for range 2 {
						got, err := runtime.CallAs[string](ctx, rt, "greet", "x")
						if want := id + " greets x"; err != nil || got != want {
							return fmt.Errorf("lease %s: greet returned %q (%v), want %q", id, got, err, want)
						}
						goruntime.Gosched()
					}
					return nil
				}
				const workers, leases = 8, 600
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				for w := range workers {
					wg.Go(func() {
						err := func() error {
							for i := range leases {
								id := fmt.Sprintf("w%d-%d", w, i)
								reg := runtime.NewHostAPIRegistry()
								if err := reg.AddAPI("index", "test", "hello", func(s string) string { return id + " greets " + s }); err != nil {
									return err
								}
								switch i % 4 {
								case 0: // greet through a lease
									l, err := p.Runtime(ctx, engine, greet, reg)
									if err != nil {
										return err
									}
									if err := hold(l.inst, id); err != nil {
										return err
									}
									err = greeted(l.Runtime, id)
									release(l.inst)
									p.PutBack(l)
									if err != nil {
										return err
									}
								case 1: // counter through a lease
									l, err := p.Runtime(ctx, engine, echo, nil)
									if err != nil {
										return err
									}
									if err := hold(l.inst, id); err != nil {
										return err
									}
									err = counted(l.Runtime, id)
									release(l.inst)
									p.PutBack(l)
									if err != nil {
										return err
									}
								case 2: // counter and greet through Do, greet through Call
									if err := p.Do(ctx, engine, echo, nil, func(rt *runtime.Runtime) error { return counted(rt, id) }); err != nil {
										return err
									}
									if err := p.Do(ctx, engine, greet, reg, func(rt *runtime.Runtime) error { return greeted(rt, id) }); err != nil {
										return err
									}
									got, err := p.Call(ctx, engine, greet, reg, "greet", "y")
									if want := id + " greets y"; err != nil || got != want {
										return fmt.Errorf("call %s: greet returned %q (%v), want %q", id, got, err, want)
									}
								case 3: // two leases of one key at once
									var ls []*Lease
									for range 2 {
										l, err := p.Runtime(ctx, engine, echo, nil)
										if err != nil {
											return err
										}
										ls = append(ls, l)
										if err := hold(l.inst, id); err != nil {
											return err
										}
									}
									for _, l := range ls {
										if err := counted(l.Runtime, id); err != nil {
											return err
										}
									}
									for _, l := range ls {
										release(l.inst)
										p.PutBack(l)
									}
								}
							}
							return nil
						}()
						if err != nil {
							errs <- err
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				s := p.Stats()
				assert.Equal(t, 0, s.Live, "every lease was put back")
				assert.LessOrEqual(t, s.Idle, capacity)
				assert.Equal(t, uint64(workers*leases/4*7), s.Hits+s.Misses) // case 2 leases three times, case 3 twice
				assert.Equal(t, uint64(0), s.Discards)
			})
		}
	}
}
