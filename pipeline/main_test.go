package pipeline

import (
	"os"
	"testing"

	"github.com/asticode/go-astiav"
)

func TestMain(m *testing.M) {
	// libav's info messages (ebur128's summaries, for one) would bury test output.
	astiav.SetLogLevel(astiav.LogLevelError)
	os.Exit(m.Run())
}
