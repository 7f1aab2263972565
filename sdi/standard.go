// Package sdi holds the SD broadcast standards as carried on SDI: the BT.601
// rasters of the 625/50 and 525/59.94 systems, their aspect and field
// parameters, and their colour tags.
//
// It is pure Go: tables and arithmetic only. It must not touch libav or files;
// pipeline/ turns these values into encoder and muxer settings.
package sdi

import (
	"fmt"
	"strings"
)

// Rational is a ratio of two integers, such as a frame rate or an aspect ratio.
type Rational struct{ Num, Den int }

func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// Float returns the ratio's value.
func (r Rational) Float() float64 { return float64(r.Num) / float64(r.Den) }

// FieldOrder says which field of an interlaced frame is first in time.
type FieldOrder string

const (
	Progressive FieldOrder = "progressive"
	TopFirst    FieldOrder = "tff"
	BottomFirst FieldOrder = "bff"
)

// Standard is one SD system's raster and signalling.
type Standard struct {
	Name      string   // pal | ntsc | secam
	System    string   // "625/50" or "525/59.94"
	Width     int      // total samples per line
	Height    int      // picture lines as coded
	Active    int      // samples of active picture per line (BT.601: 704 of 720 for 4:3/16:9)
	FrameRate Rational // frames per second; two fields each
	Fields    FieldOrder

	// Colour tags, in libav's names.
	ColorPrimaries string
	ColorTransfer  string
	ColorSpace     string
}

// The aspect-ratio convention is BT.601's: the 4:3 or 16:9 picture is the
// central 704 samples of the 720-sample line (the 16 others are blanking
// tolerance). Hence SAR = DAR × Height / 704, and a full 720-sample line
// displays slightly wider than 4:3 or 16:9. Fitting places the picture in the
// 704 active samples and pads the rest with black.
var standards = map[string]Standard{
	"pal": {
		Name: "pal", System: "625/50", Width: 720, Height: 576, Active: 704,
		FrameRate: Rational{25, 1}, Fields: TopFirst,
		ColorPrimaries: "bt470bg", ColorTransfer: "bt709", ColorSpace: "bt470bg",
	},
	// SECAM is carried on SDI exactly as PAL is: the colour system is a
	// property of the analogue transmitter, not of the digital component raster.
	"secam": {
		Name: "secam", System: "625/50", Width: 720, Height: 576, Active: 704,
		FrameRate: Rational{25, 1}, Fields: TopFirst,
		ColorPrimaries: "bt470bg", ColorTransfer: "bt709", ColorSpace: "bt470bg",
	},
	"ntsc": {
		Name: "ntsc", System: "525/59.94", Width: 720, Height: 480, Active: 704,
		FrameRate: Rational{30000, 1001}, Fields: TopFirst,
		ColorPrimaries: "smpte170m", ColorTransfer: "bt709", ColorSpace: "smpte170m",
	},
}

// Lookup returns the standard with the given name (pal, ntsc, secam).
func Lookup(name string) (Standard, error) {
	s, ok := standards[strings.ToLower(name)]
	if !ok {
		return Standard{}, fmt.Errorf("unknown SD standard %q (want pal, ntsc or secam)", name)
	}
	return s, nil
}

// SAR returns the sample aspect ratio that makes the 704-sample active picture
// display at the given display aspect ratio ("4:3" or "16:9").
func (s Standard) SAR(aspect string) (Rational, error) {
	dar, err := ParseAspect(aspect)
	if err != nil {
		return Rational{}, err
	}
	return reduce(Rational{dar.Num * s.Height, dar.Den * s.Active}), nil
}

// ParseAspect parses "4:3" or "16:9".
func ParseAspect(aspect string) (Rational, error) {
	switch aspect {
	case "4:3":
		return Rational{4, 3}, nil
	case "16:9":
		return Rational{16, 9}, nil
	}
	return Rational{}, fmt.Errorf("unknown display aspect %q (want 4:3 or 16:9)", aspect)
}

func reduce(r Rational) Rational {
	a, b := r.Num, r.Den
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return r
	}
	return Rational{r.Num / a, r.Den / a}
}
