module github.com/plexus-hl7/plexus

go 1.26.0

require (
	github.com/lenaten/hl7 v0.0.0-20181009090854-63c5c49a56d9
	github.com/spf13/cobra v1.10.2
	golang.org/x/text v0.43.0
)

require (
	github.com/expr-lang/expr v1.17.7 // indirect
	github.com/goccy/go-yaml v1.19.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
)
