package pipeline

import (
	"errors"
	"fmt"
	"os"

	"github.com/asticode/go-astiav"

	"kiln/job"
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

	fc := astiav.AllocFormatContext()
	if fc == nil {
		return job.MediaInfo{}, errors.New("allocating a libav format context failed")
	}
	defer fc.Free()
	if err := fc.OpenInput(path, nil, nil); err != nil {
		if isDataError(err) {
			return job.MediaInfo{}, inputErrorf(err, "not a media file libav can read")
		}
		// The file was there and readable a moment ago (Stat above), so a
		// demuxer that refuses it is refusing its content.
		return job.MediaInfo{}, inputErrorf(err, "libav cannot open it (%v)", err)
	}
	defer fc.CloseInput()
	if err := fc.FindStreamInfo(nil); err != nil {
		return job.MediaInfo{}, inputErrorf(err, "cannot read stream information")
	}
	info := describeInput(fc)
	info.Size = st.Size()
	return info, nil
}

// describeInput summarises an opened input.
func describeInput(fc *astiav.FormatContext) job.MediaInfo {
	info := job.MediaInfo{
		Format:   inputFormatName(fc),
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
		Profile: profileName(p.CodecID(), p.Profile()),
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
		si.FieldOrder = codecParamsFieldOrder(p)
		sar := fc.GuessSampleAspectRatio(s, nil)
		if sar.Num() > 0 && sar.Den() > 0 {
			si.SAR = fmt.Sprintf("%d:%d", sar.Num(), sar.Den())
			n, d := plan.Reduce(int64(p.Width())*int64(sar.Num()), int64(p.Height())*int64(sar.Den()))
			si.DAR = fmt.Sprintf("%d:%d", n, d)
		}
		si.ColorPrimaries = colorPrimariesName(p.ColorPrimaries())
		si.ColorTransfer = colorTransferName(p.ColorTransferCharacteristic())
		si.ColorSpace = colorSpaceName(p.ColorSpace())
		si.ColorRange = colorRangeName(p.ColorRange())
		si.Rotation = streamRotation(s)
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
