//go:build cuda

package pipeline

import (
	"strings"
	"testing"
)

// TestCUDAFramesFailCleanly runs the cuda build's libav side as far as it
// goes without a usable context: libav takes the context into a device
// context, and its frames context then fails with the driver's reason, as
// libav logs it, rather than crashing. TestNVENCOnGPUFramesFallsBack shows
// the encoder going on without GPU frames from there.
func TestCUDAFramesFailCleanly(t *testing.T) {
	if cudaDevice() {
		// An initialised driver would be handed a made-up context.
		t.Skip("a GPU is here; this test is for the failure without one")
	}
	err := withLibavErrors(func() error {
		_, err := newCUDAFrames(contextOnly{}, 64, 64)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "making 64x64 CUDA frames") || !strings.Contains(err.Error(), "CUDA_ERROR_") {
		t.Fatalf("newCUDAFrames on an unusable context: %v; want the frames context to fail with the driver's reason", err)
	}
	t.Logf("newCUDAFrames: %v", err)
}
