module {{module}}

go 1.27.1

require (
	go.bytecodealliance.org/pkg v0.4.0 // indirect
	stampede.dev/sdk v0.0.0
)

// The Stampede SDK and its component-model runtime package, vendored (no module proxy).
replace stampede.dev/sdk => ./vendor/stampede/sdk/go

replace go.bytecodealliance.org/pkg => ./vendor/stampede/sdk/go/third_party/go-pkg
