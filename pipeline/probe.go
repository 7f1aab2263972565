package pipeline

import (
	"errors"
	"fmt"
	"os"

	"github.com/asticode/go-astiav"

	"kiln/job"
	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
)

// Probe opens a media file with libav and summarises its format and streams.
// Errors about the file's content are *InputError with a reason a person can
// act on.
func Probe(path string) (job.MediaInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return job.MediaInfo{}, fmt.Errorf("reading source: %w", err)
	}
	if !st.Mode().IsRegular() {
		return job.MediaInfo{}, inputErrorf(nil, "not a regular file")
	}
	if st.Size() == 0 {
		return job.MediaInfo{}, inputErrorf(nil, "empty file (0 bytes)")
	}

	fc, err := openReadable(path, nil)
	if err != nil {
		return job.MediaInfo{}, err
	}
	defer fc.Free()
	defer fc.CloseInput()
	info := describeInput(fc)
	info.Size = st.Size()
	return info, nil
}

// openSource opens a file for demuxing through av.OpenInput (opts and keep
// are its), and words its failures for the report: a file no demuxer
// takes is not media (an InputError), one whose streams libav cannot read
// is an InputError too; the rest (the system refused it) is returned as
// av's *OpenError, which may pass.
func openSource(path string, opts map[string]string, keep func(*astiav.Stream) bool) (*astiav.FormatContext, error) {
	fc, err := av.OpenInput(path, opts, keep)
	var oe *av.OpenError
	switch {
	case err == nil:
		return fc, nil
	case !errors.As(err, &oe):
		return nil, err
	case oe.Streams:
		// The file was there and readable a moment ago, so a demuxer that
		// refuses it is refusing its content; libav's words say how.
		return nil, inputErrorf(oe.Err, "%s", oe.Error())
	case isDataError(oe.Err):
		return nil, inputErrorf(oe.Err, "not a media file libav can read")
	}
	return nil, err
}

// openReadable is openSource for a file the caller has just found there
// and readable (Probe's Stat; a verifier's reading of the job's own
// outputs): a demuxer that refuses it is refusing its content, so every
// refusal is an InputError.
func openReadable(path string, opts map[string]string) (*astiav.FormatContext, error) {
	fc, err := openSource(path, opts, nil)
	var oe *av.OpenError
	if errors.As(err, &oe) {
		// The file was there and readable a moment ago, so a demuxer that
		// refuses it is refusing its content; libav's words say how.
		return nil, inputErrorf(oe.Err, "%s", oe.Error())
	}
	return fc, err
}

// describeInput summarises an opened input.
func describeInput(fc *astiav.FormatContext) job.MediaInfo {
	info := job.MediaInfo{
		Format:   av.InputFormatName(fc),
		Duration: seconds(fc.Duration(), astiav.NewRational(1, astiav.TimeBase)),
		BitRate:  fc.BitRate(),
	}
	for _, s := range fc.Streams() {
		info.Streams = append(info.Streams, describeStream(fc, s))
	}
	return info
}

func describeStream(fc *astiav.FormatContext, s *astiav.Stream) job.StreamInfo {
	p := s.CodecParameters()
	si := job.StreamInfo{
		Index:   s.Index(),
		Type:    p.MediaType().String(),
		Codec:   p.CodecID().Name(),
		Profile: av.ProfileName(p.CodecID(), p.Profile()),
		BitRate: p.BitRate(),
	}
	if s.StartTime() != astiav.NoPtsValue {
		si.StartTime = seconds(s.StartTime(), s.TimeBase())
	}
	if s.Duration() > 0 {
		si.Duration = seconds(s.Duration(), s.TimeBase())
	}
	if md := s.Metadata(); md != nil {
		if e := md.Get("language", nil, 0); e != nil {
			si.Language = e.Value()
		}
	}
	switch p.MediaType() {
	case astiav.MediaTypeVideo:
		si.Width, si.Height = p.Width(), p.Height()
		si.PixelFormat = p.PixelFormat().Name()
		if r := fc.GuessFrameRate(s, nil); r.Num() > 0 && r.Den() > 0 {
			si.FrameRate = r.String()
		}
		si.FieldOrder = av.CodecParamsFieldOrder(p)
		sar := fc.GuessSampleAspectRatio(s, nil)
		if sar.Num() > 0 && sar.Den() > 0 {
			si.SAR = fmt.Sprintf("%d:%d", sar.Num(), sar.Den())
			n, d := plan.Reduce(int64(p.Width())*int64(sar.Num()), int64(p.Height())*int64(sar.Den()))
			si.DAR = fmt.Sprintf("%d:%d", n, d)
		}
		si.ColorPrimaries = av.ColorPrimariesName(p.ColorPrimaries())
		si.ColorTransfer = av.ColorTransferName(p.ColorTransferCharacteristic())
		si.ColorSpace = av.ColorSpaceName(p.ColorSpace())
		si.ColorRange = av.ColorRangeName(p.ColorRange())
		si.Rotation = av.StreamRotation(s)
	case astiav.MediaTypeAudio:
		si.SampleRate = p.SampleRate()
		si.Channels = p.ChannelLayout().NbChannels()
		if si.Channels == 0 {
			si.Channels = p.Channels()
		}
		si.ChannelLayout = p.ChannelLayout().String()
		si.SampleFormat = p.SampleFormat().Name()
	}
	return si
}

func seconds(ts int64, tb astiav.Rational) float64 {
	if ts == astiav.NoPtsValue || tb.Den() == 0 {
		return 0
	}
	return float64(ts) * float64(tb.Num()) / float64(tb.Den())
}
