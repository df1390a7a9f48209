package vocab

// The data (zz_generated_vocab.*) is generated from the IG's vocabulary maps
// in the shared folder beside the repository. To update it, replace that
// folder with a newer snapshot of the IG's mappings and run go generate here
// (or: go run ./transforms/vocab/internal/gen -ig ../shared/v2-to-fhir -out transforms/vocab).

//go:generate go run ./internal/gen -ig ../../../shared/v2-to-fhir -out .
