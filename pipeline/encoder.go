package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/asticode/go-astiav"

	"kiln/pipeline/plan"
)

// encoder wraps one opened libav encoder.
type encoder struct {
	ctx *astiav.CodecContext
	// unused lists options the encoder did not recognise; they go into the
	// report as warnings rather than being silently dropped.
	unused []string
	// cuda, when set, is where the encoder (NVENC) takes its pictures
	// from: frames in GPU memory that the kernels' output is copied into
	// on the device.
	cuda *cudaFrames
}

func openVideoEncoder(v plan.VideoPlan, globalHeader bool) (*encoder, error) {
	return openVideoEncoderWith(v, globalHeader, nil)
}

// openVideoEncoderWith is openVideoEncoder with configure run on the
// context just before it opens (to hand NVENC a CUDA frames context).
func openVideoEncoderWith(v plan.VideoPlan, globalHeader bool, configure func(*astiav.CodecContext) error) (*encoder, error) {
	codec := astiav.FindEncoderByName(v.Encoder)
	if codec == nil {
		return nil, fmt.Errorf("encoder %s is not available in this libav build", v.Encoder)
	}
	ctx := astiav.AllocCodecContext(codec)
	if ctx == nil {
		return nil, errors.New("allocating an encoder context failed")
	}
	ctx.SetWidth(v.Width)
	ctx.SetHeight(v.Height)
	ctx.SetPixelFormat(pixelFormat(v.PixFmt))
	ctx.SetSampleAspectRatio(astiav.NewRational(v.SAR.Num, v.SAR.Den))
	ctx.SetFramerate(astiav.NewRational(v.FrameRate.Num, v.FrameRate.Den))
	ctx.SetTimeBase(astiav.NewRational(v.FrameRate.Den, v.FrameRate.Num))
	if v.BitRate > 0 {
		ctx.SetBitRate(v.BitRate)
	}
	if v.GOP > 0 {
		ctx.SetGopSize(v.GOP)
	}
	if globalHeader {
		ctx.SetFlags(ctx.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	opts := map[string]string{"threads": "0"}
	for k, val := range v.Options {
		opts[k] = val
	}
	if v.ColorPrimaries != "" {
		opts["color_primaries"] = v.ColorPrimaries
		opts["color_trc"] = v.ColorTransfer
		opts["colorspace"] = v.ColorSpace
		opts["color_range"] = "tv"
	}
	if configure != nil {
		if err := configure(ctx); err != nil {
			ctx.Free()
			return nil, err
		}
	}
	return openEncoder(ctx, codec, opts)
}

func openAudioEncoder(a plan.AudioPlan, globalHeader bool) (*encoder, error) {
	codec := astiav.FindEncoderByName(a.Encoder)
	if codec == nil {
		return nil, fmt.Errorf("encoder %s is not available in this libav build", a.Encoder)
	}
	ctx := astiav.AllocCodecContext(codec)
	if ctx == nil {
		return nil, errors.New("allocating an encoder context failed")
	}
	layout, err := channelLayout(a.Layout)
	if err != nil {
		ctx.Free()
		return nil, err
	}
	ctx.SetChannelLayout(layout)
	ctx.SetChannels(a.Channels)
	ctx.SetSampleRate(a.SampleRate)
	ctx.SetSampleFormat(audioSampleFormat(codec, a.Encoder))
	ctx.SetTimeBase(astiav.NewRational(1, a.SampleRate))
	if a.BitRate > 0 {
		ctx.SetBitRate(a.BitRate)
	}
	if globalHeader {
		ctx.SetFlags(ctx.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	var opts map[string]string
	if a.Encoder == "s302m" {
		// SMPTE 302M is how broadcast TS carries PCM; FFmpeg 5.1 flags its
		// encoder experimental (it was never certified against a
		// broadcast decoder), so avcodec_open2 refuses it unless strict is
		// lowered. The verifier then reads the stream back with libav's
		// (not experimental) s302m decoder, and GStreamer reads it too.
		opts = map[string]string{"strict": "experimental"}
	}
	return openEncoder(ctx, codec, opts)
}

func openEncoder(ctx *astiav.CodecContext, codec *astiav.Codec, opts map[string]string) (*encoder, error) {
	dict := astiav.NewDictionary()
	defer dict.Free()
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := dict.Set(k, opts[k], 0); err != nil {
			ctx.Free()
			return nil, fmt.Errorf("setting encoder option %s: %w", k, err)
		}
	}
	if err := ctx.Open(codec, dict); err != nil {
		ctx.Free()
		return nil, fmt.Errorf("opening encoder %s with %s: %w", codec.Name(), optionWords(opts), err)
	}
	e := &encoder{ctx: ctx}
	// avcodec_open2 leaves the options it did not consume in the dictionary.
	var prev *astiav.DictionaryEntry
	for {
		prev = dict.Get("", prev, astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix))
		if prev == nil {
			break
		}
		e.unused = append(e.unused, prev.Key())
	}
	return e, nil
}

// audioSampleFormat picks the encoder's sample format: the first it offers,
// except that 24-bit PCM in s302m wants 32-bit containers for 24 bits.
func audioSampleFormat(codec *astiav.Codec, name string) astiav.SampleFormat {
	formats := codec.SampleFormats()
	if name == "s302m" {
		for _, f := range formats {
			if f == astiav.SampleFormatS32 {
				return f
			}
		}
	}
	if len(formats) > 0 {
		return formats[0]
	}
	return astiav.SampleFormatFltp
}

func pixelFormat(name string) astiav.PixelFormat {
	return astiav.FindPixelFormatByName(name)
}

func channelLayout(name string) (astiav.ChannelLayout, error) {
	switch name {
	case "mono":
		return astiav.ChannelLayoutMono, nil
	case "stereo":
		return astiav.ChannelLayoutStereo, nil
	case "5.1":
		// libav's "5.1" (the name the filter chain converts to) has back
		// surrounds; AV_CH_LAYOUT_5POINT1 is 5.1(side), which the AAC
		// encoder can only describe with a PCE and channel configuration 0,
		// and neither Kiln's packagers nor browsers read that.
		return astiav.ChannelLayout5Point1Back, nil
	case "7.1":
		return astiav.ChannelLayout7Point1, nil
	}
	return astiav.ChannelLayout{}, fmt.Errorf("unsupported channel layout %q", name)
}

func optionWords(opts map[string]string) string {
	var parts []string
	for k, v := range opts {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func (e *encoder) Close() {
	if e.ctx != nil {
		e.ctx.Free()
		e.ctx = nil
	}
	if e.cuda != nil {
		e.cuda.close()
		e.cuda = nil
	}
}
