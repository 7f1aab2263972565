package plan

import (
	"fmt"
	"strings"

	"kiln/job"
)

// InputError means the source itself is unusable: empty, not media, no video,
// truncated, an unsupported codec. Running the job again cannot help, so the
// daemon fails it at once and moves the source to failed/ with Reason.
type InputError struct {
	Reason string // a sentence for a person: "no video stream (found: audio aac)"
	Err    error  // the underlying libav error, if any
}

func (e *InputError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *InputError) Unwrap() error { return e.Err }

// ProfileError means the profile cannot apply to this source, or asks for
// something this build cannot make. It is permanent too.
type ProfileError struct{ Reason string }

func (e *ProfileError) Error() string { return e.Reason }

func inputErrorf(err error, format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// describeStreams lists the streams of a probe for error messages:
// "audio aac, data bin_data".
func describeStreams(info job.MediaInfo) string {
	if len(info.Streams) == 0 {
		return "no streams at all"
	}
	var parts []string
	for _, s := range info.Streams {
		parts = append(parts, s.Type+" "+s.Codec)
	}
	return strings.Join(parts, ", ")
}
