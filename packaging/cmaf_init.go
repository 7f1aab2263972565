package packaging

import "math"

// initSegment builds init.mp4: ftyp and a moov with one track and an mvex
// that announces fragments. The sample tables are empty, as in every
// fragmented file; the samples live in the segments.
func (t *CMAFTrack) initSegment() []byte {
	c := t.cfg
	ftyp := newBox("ftyp").str("iso6").u32(0).str("iso6").str("cmfc").str("dash").str("mp41").bytes()

	mvhd := newFullBox("mvhd", 0, 0).u32(0).u32(0).u32(1000).u32(0).
		u32(0x00010000).u16(0x0100).zeros(10).matrix().zeros(24).u32(2).bytes()

	width, height := 0, 0
	volume := uint16(0x0100)
	if c.Kind == "video" {
		volume = 0
		width, height = c.displaySize()
	}
	tkhd := newFullBox("tkhd", 0, 3).u32(0).u32(0).u32(1).u32(0).u32(0).
		zeros(8).u16(0).u16(0).u16(volume).u16(0).matrix().
		u32(uint32(width) << 16).u32(uint32(height) << 16).bytes()

	mdhd := newFullBox("mdhd", 0, 0).u32(0).u32(0).u32(c.Timescale).u32(0).
		u16(packLanguage(c.Language)).u16(0).bytes()
	handler, name := "soun", "SoundHandler"
	if c.Kind == "video" {
		handler, name = "vide", "VideoHandler"
	}
	hdlr := newFullBox("hdlr", 0, 0).u32(0).str(handler).zeros(12).str(name).u8(0).bytes()

	var mediaHeader []byte
	if c.Kind == "video" {
		mediaHeader = newFullBox("vmhd", 0, 1).zeros(8).bytes()
	} else {
		mediaHeader = newFullBox("smhd", 0, 0).zeros(4).bytes()
	}
	dinf := newBox("dinf").add(newFullBox("dref", 0, 0).u32(1).add(newFullBox("url ", 0, 1).bytes()).bytes()).bytes()
	stbl := newBox("stbl").add(
		newFullBox("stsd", 0, 0).u32(1).add(t.sampleEntry()).bytes(),
		newFullBox("stts", 0, 0).u32(0).bytes(),
		newFullBox("stsc", 0, 0).u32(0).bytes(),
		newFullBox("stsz", 0, 0).u32(0).u32(0).bytes(),
		newFullBox("stco", 0, 0).u32(0).bytes(),
	).bytes()
	minf := newBox("minf").add(mediaHeader, dinf, stbl).bytes()
	mdia := newBox("mdia").add(mdhd, hdlr, minf).bytes()
	trak := newBox("trak").add(tkhd, mdia).bytes()
	mvex := newBox("mvex").add(newFullBox("trex", 0, 0).u32(1).u32(1).u32(0).u32(0).u32(0).bytes()).bytes()
	moov := newBox("moov").add(mvhd, trak, mvex).bytes()
	return append(ftyp, moov...)
}

// displaySize is the picture's size in square samples, which tkhd states.
func (c TrackConfig) displaySize() (int, int) {
	if c.SAR.Num <= 0 || c.SAR.Den <= 0 || c.SAR.Num == c.SAR.Den {
		return c.Width, c.Height
	}
	return int(math.Round(float64(c.Width) * c.SAR.Float())), c.Height
}

func (t *CMAFTrack) sampleEntry() []byte {
	c := t.cfg
	if c.Kind == "video" {
		e := newBox("avc1").zeros(6).u16(1).
			u16(0).u16(0).zeros(12).
			u16(uint16(c.Width)).u16(uint16(c.Height)).
			u32(0x00480000).u32(0x00480000).u32(0).u16(1)
		name := make([]byte, 32)
		copy(name[1:], "Kiln H.264")
		name[0] = byte(len("Kiln H.264"))
		e.raw(name).u16(0x0018).u16(0xffff)
		e.add(newBox("avcC").raw(c.AVC.Record()).bytes())
		if c.SAR.Num > 0 && c.SAR.Den > 0 {
			e.add(newBox("pasp").u32(uint32(c.SAR.Num)).u32(uint32(c.SAR.Den)).bytes())
		}
		return e.bytes()
	}
	a := c.Audio
	typ := "mp4a"
	if a.Codec == "ac3" {
		typ = "ac-3"
	}
	e := newBox(typ).zeros(6).u16(1).zeros(8).
		u16(uint16(a.Channels)).u16(16).u16(0).u16(0).u32(uint32(a.SampleRate) << 16)
	if a.Codec == "ac3" {
		e.add(newBox("dac3").raw(a.DAC3).bytes())
	} else {
		e.add(a.esds(1))
	}
	return e.bytes()
}

// packLanguage packs an ISO 639-2/T code into mdhd's 15 bits.
func packLanguage(lang string) uint16 {
	if len(lang) != 3 {
		lang = "und"
	}
	var v uint16
	for i := 0; i < 3; i++ {
		c := lang[i]
		if c < 'a' || c > 'z' {
			return packLanguage("und")
		}
		v = v<<5 | uint16(c-0x60)
	}
	return v
}
