package file

import "testing"

func TestKernelAtLeast(t *testing.T) {
	for _, tt := range []struct {
		release string
		want    bool
	}{
		{"6.18.44-fc-v669", true}, {"5.8.0", true}, {"5.10.0-28-amd64", true}, {"5.7.19", false},
		{"4.19.0", false}, {"5.8-rc1", true}, {"3", false}, {"x.y", false}, {"", false},
	} {
		if got := kernelAtLeast(tt.release, 5, 8); got != tt.want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v", tt.release, got)
		}
	}
}
