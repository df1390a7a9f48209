//go:build !unix

package file

import "time"

// processCPU is not measured here; BenchmarkDeliver then leaves out
// cpu-µs/msg.
func processCPU() time.Duration { return 0 }
