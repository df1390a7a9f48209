package fhir

// The model (zz_generated_model.*) is generated from the FHIR R4
// StructureDefinitions pinned in internal/gen/package-lock.json. To update it:
//
//	(cd internal/gen && npm ci) && go generate ./transforms/fhir

//go:generate go run ./internal/gen
