package job

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// OwnPeakRSS is this process's peak resident memory in bytes, from VmHWM in
// /proc/self/status; 0 when it cannot be read (not Linux).
func OwnPeakRSS() int64 {
	return PeakRSS("self")
}

// PeakRSS reads VmHWM of /proc/PID/status ("self" for this process): the
// process's own peak resident memory in bytes, or 0 when it is gone or the
// line is missing (a zombie has no memory left to report).
func PeakRSS(pid string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%s/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		val, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kib << 10
	}
	return 0
}
