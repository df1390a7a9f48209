// Command benchtable reads `go test -bench` output on stdin and prints a
// Markdown table with the median of each metric over the -count runs.
//
//	go test -run XXX -bench . -count 3 | go run ./benchtable
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

var columns = []string{"msgs/s", "p50-µs", "p99-µs", "cpu-µs/msg", "items/commit", "wr-B/msg", "disk-B/msg", "heap-MB", "rss-MB"}

func main() {
	var order []string
	vals := map[string]map[string][]float64{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i] // GOMAXPROCS suffix
		}
		if vals[name] == nil {
			vals[name] = map[string][]float64{}
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				vals[name][f[i+1]] = append(vals[name][f[i+1]], v)
			}
		}
	}
	fmt.Println("| benchmark | runs | " + strings.Join(columns, " | ") + " |")
	fmt.Println("|---|---" + strings.Repeat("|---:", len(columns)) + "|")
	for _, name := range order {
		row := []string{name, strconv.Itoa(len(vals[name]["msgs/s"]))}
		for _, col := range columns {
			v := vals[name][col]
			if len(v) == 0 {
				row = append(row, "")
				continue
			}
			slices.Sort(v)
			row = append(row, format(v[len(v)/2], col))
		}
		fmt.Println("| " + strings.Join(row, " | ") + " |")
	}
}

func format(v float64, col string) string {
	switch {
	case col == "items/commit" || col == "heap-MB" || col == "rss-MB":
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}
