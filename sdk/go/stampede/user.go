// Package stampede is the Go SDK for Stampede scenarios: requests (one host call each),
// checks, --env values and a Locust-style user with weighted tasks.
//
//	func init() {
//		stampede.Register(stampede.User[shopper]{
//			Wait:    func() stampede.WaitTime { return stampede.Between(time.Second, 3*time.Second) },
//			OnStart: login,                      // func() (*shopper, error)
//			Tasks: []stampede.Task[shopper]{
//				{Name: "browse", Weight: 3, Run: (*shopper).browse},
//			},
//		})
//	}
//	func main() {}
package stampede

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	witRuntime "go.bytecodealliance.org/pkg/wit/runtime"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	export "stampede.dev/sdk/exports/export_stampede_scenario_user"
	_ "stampede.dev/sdk/exports/wit_exports" // the component's exported functions
	wit "stampede.dev/sdk/imports/stampede_scenario_user"
)

// WaitTime is the pause between two tasks of a user.
type WaitTime = wit.WaitTime

// Between waits uniformly between min and max.
func Between(min, max time.Duration) WaitTime {
	return wit.MakeWaitTimeBetween(witTypes.Tuple2[uint32, uint32]{F0: ms(min), F1: ms(max)})
}

// Constant waits d between tasks.
func Constant(d time.Duration) WaitTime { return wit.MakeWaitTimeConstant(ms(d)) }

func ms(d time.Duration) uint32 { return uint32(min(max(d.Milliseconds(), 0), int64(^uint32(0)))) }

// Task of a user U: a name (for metrics), a weight, and the method that runs it, e.g.
// (*shopper).browse.
type Task[U any] struct {
	Name   string
	Weight uint32
	Run    func(*U) error
}

// User declares a virtual user: OnStart builds its state (log in, open a cart), tasks
// run on it, OnStop tears it down. One instance runs per VU, so the state is its own.
type User[U any] struct {
	// Wait is evaluated when the run starts, so it may read Env; nil means no wait.
	Wait    func() WaitTime
	OnStart func() (*U, error)
	Tasks   []Task[U]
	OnStop  func(*U) error
}

// Register makes u the scenario's user; call it from an init function.
func Register[U any](u User[U]) {
	var state *U
	export.Hooks.Describe = func() wit.UserSpec {
		tasks := make([]wit.Task, len(u.Tasks))
		for i, t := range u.Tasks {
			tasks[i] = wit.Task{Name: t.Name, Weight: t.Weight}
		}
		wait := wit.MakeWaitTimeNone()
		if u.Wait != nil {
			wait = u.Wait()
		}
		return wit.UserSpec{Tasks: tasks, Wait: wait}
	}
	export.Hooks.OnStart = func() witTypes.Result[witTypes.Unit, string] {
		return guard(func() error {
			if u.OnStart == nil {
				state = new(U)
				return nil
			}
			s, err := u.OnStart()
			if err == nil && s == nil {
				err = fmt.Errorf("OnStart returned no user")
			}
			state = s
			return err
		})
	}
	export.Hooks.RunTask = func(index uint32) witTypes.Result[witTypes.Unit, string] {
		return guard(func() error {
			if state == nil {
				return fmt.Errorf("OnStart has not completed")
			}
			if int(index) >= len(u.Tasks) {
				return fmt.Errorf("no task %d", index)
			}
			return u.Tasks[index].Run(state)
		})
	}
	export.Hooks.OnStop = func() witTypes.Result[witTypes.Unit, string] {
		defer func() { state = nil }()
		return guard(func() error {
			if u.OnStop == nil || state == nil {
				return nil
			}
			return u.OnStop(state)
		})
	}
}

// guard runs f, turns an error or a panic into the WIT err(string), and collects
// garbage when due.
func guard(f func() error) (res witTypes.Result[witTypes.Unit, string]) {
	defer collectIfDue()
	defer func() {
		if p := recover(); p != nil {
			res = witTypes.Err[witTypes.Unit, string](fmt.Sprintf("panic: %v", p))
		}
	}()
	if err := f(); err != nil {
		return witTypes.Err[witTypes.Unit, string](err.Error())
	}
	return witTypes.Ok[witTypes.Unit, string](witTypes.Unit{})
}

// Go's collector may run inside cabi_realloc while the host copies a result into the
// guest; if it then calls a WASI clock the instance traps ("cannot leave component
// instance"). So automatic GC is off, and the SDK collects between calls, where no
// host copy is in flight, once enough was allocated since the last collection.
const gcEvery = 8 << 20

var (
	allocs   = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	lastHeap uint64
)

func init() {
	debug.SetGCPercent(-1)
}

func collectIfDue() {
	// What cabi_realloc allocated for results (response bodies, strings) stays pinned
	// until unpinned; values still referenced stay alive through those references.
	witRuntime.Unpin()
	metrics.Read(allocs)
	if allocs[0].Value.Kind() != metrics.KindUint64 {
		runtime.GC()
		return
	}
	if n := allocs[0].Value.Uint64(); n-lastHeap >= gcEvery {
		runtime.GC()
		lastHeap = n
	}
}
