module smoke-go

go 1.27.1

require (
	go.bytecodealliance.org/pkg v0.4.0 // indirect
	stampede.dev/sdk v0.0.0
)

// The SDK and the component-model runtime package it uses, from this repository (no
// module proxy needed).
replace stampede.dev/sdk => ../../sdk/go

replace go.bytecodealliance.org/pkg => ../../sdk/go/third_party/go-pkg
