// probe: what a RUN step can see of a directory: each file and its content. A static binary, so the
// image needs no base to pull (FROM scratch) and the executor needs no credentials at all.
package main

import "os"

func main() {
	for _, dir := range os.Args[1:] {
		entries, err := os.ReadDir(dir)
		if err != nil {
			os.Stdout.WriteString("probe: " + dir + ": " + err.Error() + "\n")
			continue
		}
		os.Stdout.WriteString("probe: " + dir + " has " + itoa(len(entries)) + " entries\n")
		for _, e := range entries {
			data, err := os.ReadFile(dir + "/" + e.Name())
			if err != nil {
				os.Stdout.WriteString("probe: " + e.Name() + ": " + err.Error() + "\n")
				continue
			}
			os.Stdout.WriteString("probe: " + e.Name() + ": " + string(data) + "\n")
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
