package packaging

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/Eyevinn/mp4ff/mp4"
)

// cmafTrackID is the one track of every CMAF file Kiln writes.
const cmafTrackID = 1

// initSegment builds init.mp4: ftyp and a moov with one track and an mvex
// that announces fragments. The sample tables are empty, as in every
// fragmented file; the samples live in the segments.
func (t *CMAFTrack) initSegment() ([]byte, error) {
	init, err := t.initBoxes()
	if err != nil {
		return nil, err
	}
	return encodeBox(init)
}

// initBoxes is the init segment as mp4ff boxes, which the golden tests dump.
func (t *CMAFTrack) initBoxes() (*mp4.InitSegment, error) {
	c := t.cfg
	video := c.Kind == "video"
	init := mp4.NewMP4Init()
	init.AddChild(mp4.NewFtyp("iso6", 0, []string{"iso6", "cmfc", "dash", "mp41"}))
	moov := mp4.NewMoovBox()
	init.AddChild(moov)
	// The movie lasts nothing until its fragments: durations are zero, and
	// the movie's clock (milliseconds) times nothing the player uses.
	moov.AddChild(&mp4.MvhdBox{Timescale: 1000, Rate: 0x00010000, Volume: 0x0100, NextTrackID: cmafTrackID + 1})

	tkhd := &mp4.TkhdBox{
		Flags:   0x000003, // enabled, in the movie
		TrackID: cmafTrackID,
		Matrix:  mp4.UnityMatrix(),
	}
	if video {
		width, height := c.displaySize()
		tkhd.Width, tkhd.Height = mp4.Fixed32(uint32(width)<<16), mp4.Fixed32(uint32(height)<<16)
	} else {
		tkhd.Volume = 0x0100 // full
	}
	trak := mp4.NewTrakBox()
	trak.AddChild(tkhd)

	mdia := mp4.NewMdiaBox()
	trak.AddChild(mdia)
	mdhd := &mp4.MdhdBox{Timescale: c.Timescale}
	mdhd.SetLanguage(mdhdLanguage(c.Language))
	mdia.AddChild(mdhd)
	hdlr := &mp4.HdlrBox{HandlerType: "soun", Name: "SoundHandler"}
	if video {
		hdlr.HandlerType, hdlr.Name = "vide", "VideoHandler"
	}
	mdia.AddChild(hdlr)

	minf := mp4.NewMinfBox()
	mdia.AddChild(minf)
	if video {
		minf.AddChild(mp4.CreateVmhd())
	} else {
		minf.AddChild(mp4.CreateSmhd())
	}
	dinf := &mp4.DinfBox{}
	dinf.AddChild(mp4.CreateDref()) // one self-contained url
	minf.AddChild(dinf)

	stbl := mp4.NewStblBox()
	minf.AddChild(stbl)
	stsd := mp4.NewStsdBox()
	entry, err := t.sampleEntry()
	if err != nil {
		return nil, err
	}
	stsd.AddChild(entry)
	stbl.AddChild(stsd)
	stbl.AddChild(&mp4.SttsBox{})
	stbl.AddChild(&mp4.StscBox{})
	stbl.AddChild(&mp4.StszBox{})
	stbl.AddChild(&mp4.StcoBox{})
	moov.AddChild(trak)

	mvex := mp4.NewMvexBox()
	mvex.AddChild(&mp4.TrexBox{TrackID: cmafTrackID, DefaultSampleDescriptionIndex: 1})
	moov.AddChild(mvex)
	return init, nil
}

// displaySize is the picture's size in square samples, which tkhd states.
func (c TrackConfig) displaySize() (int, int) {
	if c.SAR.Num <= 0 || c.SAR.Den <= 0 || c.SAR.Num == c.SAR.Den {
		return c.Width, c.Height
	}
	return int(math.Round(float64(c.Width) * c.SAR.Float())), c.Height
}

// avc1CompressorName names the encoder in the avc1 sample entry.
const avc1CompressorName = "Kiln H.264"

func (t *CMAFTrack) sampleEntry() (mp4.Box, error) {
	c := t.cfg
	if c.Kind == "video" {
		avcC := &mp4.AvcCBox{DecConfRec: c.AVC.decConfRec()}
		e := mp4.CreateVisualSampleEntryBox("avc1", uint16(c.Width), uint16(c.Height), avcC)
		e.CompressorName = avc1CompressorName
		if c.SAR.Num > 0 && c.SAR.Den > 0 {
			e.AddChild(&mp4.PaspBox{HSpacing: uint32(c.SAR.Num), VSpacing: uint32(c.SAR.Den)})
		}
		return e, nil
	}
	a := c.Audio
	if a.Codec == "ac3" {
		dac3, err := a.dac3Box()
		if err != nil {
			return nil, err
		}
		return mp4.CreateAudioSampleEntryBox("ac-3", uint16(a.Channels), 16, uint16(a.SampleRate), dac3), nil
	}
	return mp4.CreateAudioSampleEntryBox("mp4a", uint16(a.Channels), 16, uint16(a.SampleRate), a.esds(cmafTrackID)), nil
}

// mdhdLanguage is an ISO 639-2/T code that mdhd's three five-bit letters
// can hold: "und" for anything else.
func mdhdLanguage(lang string) string {
	if len(lang) != 3 {
		return "und"
	}
	for i := 0; i < 3; i++ {
		if lang[i] < 'a' || lang[i] > 'z' {
			return "und"
		}
	}
	return lang
}

// encodeBox writes a box (or a segment of boxes) to bytes.
func encodeBox(b interface {
	Size() uint64
	Encode(w io.Writer) error
}) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(b.Size()))
	if err := b.Encode(&buf); err != nil {
		return nil, fmt.Errorf("encoding MP4 boxes: %w", err)
	}
	return buf.Bytes(), nil
}
