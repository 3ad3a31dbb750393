// Package export_stampede_scenario_user is where the generated bindings look for the
// `user` export's functions. They call hooks the stampede package sets when a scenario
// registers its user, so this package imports nothing of the SDK (no import cycle).
package export_stampede_scenario_user

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"stampede.dev/sdk/imports/stampede_scenario_user"
)

// Hooks are set by stampede.Register.
var Hooks struct {
	Describe func() stampede_scenario_user.UserSpec
	OnStart  func() witTypes.Result[witTypes.Unit, string]
	RunTask  func(index uint32) witTypes.Result[witTypes.Unit, string]
	OnStop   func() witTypes.Result[witTypes.Unit, string]
}

func unregistered() witTypes.Result[witTypes.Unit, string] {
	return witTypes.Err[witTypes.Unit, string]("no user registered: call stampede.Register in an init function")
}

func Describe() stampede_scenario_user.UserSpec {
	if Hooks.Describe == nil {
		return stampede_scenario_user.UserSpec{Wait: stampede_scenario_user.MakeWaitTimeNone()}
	}
	return Hooks.Describe()
}

func OnStart() witTypes.Result[witTypes.Unit, string] {
	if Hooks.OnStart == nil {
		return unregistered()
	}
	return Hooks.OnStart()
}

func RunTask(index uint32) witTypes.Result[witTypes.Unit, string] {
	if Hooks.RunTask == nil {
		return unregistered()
	}
	return Hooks.RunTask(index)
}

func OnStop() witTypes.Result[witTypes.Unit, string] {
	if Hooks.OnStop == nil {
		return witTypes.Ok[witTypes.Unit, string](witTypes.Unit{})
	}
	return Hooks.OnStop()
}
