package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln/config"
	"kiln/job"
)

// TestWorkerMemoryCap runs the real worker on a 4K job with its address
// space capped far below what decoding and encoding 4K needs: the job must
// end without a result or with a failure, never succeed by ignoring the cap,
// and without that cap the same job succeeds.
func TestWorkerMemoryCap(t *testing.T) {
	dir := t.TempDir()
	src := ffmpeg(t, filepath.Join(dir, "uhd.mp4"), "-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=25",
		"-frames:v", "6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	profile := config.Profile{Name: "uhd", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 20_000_000,
		FrameRateMethod: "dup", Deinterlace: "auto", ScaleFilter: "lanczos"}
	work := func(memory int64) (res *job.Result, exitErr error) {
		spec, _ := json.Marshal(job.Spec{ID: 1, Source: src, Profile: profile, OutputRoot: filepath.Join(dir, "out"),
			Limits: job.Limits{MemoryBytes: memory}})
		cmd := exec.Command(kilndBin, "worker")
		cmd.Stdin = bytes.NewReader(spec)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		defer func() {
			if exitErr != nil {
				exitErr = fmt.Errorf("%w: %s", exitErr, lastLine(stderr.String()))
			}
		}()
		out, err := cmd.Output()
		for _, line := range strings.Split(string(out), "\n") {
			var m job.Message
			if json.Unmarshal([]byte(line), &m) == nil && m.Result != nil {
				res = m.Result
			}
		}
		return res, err
	}
	if res, err := work(0); err != nil || res == nil || !res.OK {
		t.Fatalf("without a cap the 4K job must succeed: %+v %v", res, err)
	}
	res, err := work(160 << 20)
	if res != nil && res.OK {
		t.Fatal("a 4K job succeeded inside 160 MB of address space: the cap was not applied")
	}
	reason := ""
	if res != nil {
		reason = res.Reason
	}
	t.Logf("capped worker: result %q, exit %v", reason, err)
	if res != nil && !strings.Contains(reason, "out of memory") {
		t.Errorf("the reason %q does not say the worker ran out of memory", reason)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
