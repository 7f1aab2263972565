package config

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// maxBitrate bounds what a Bitrate may hold. 100 Gbit/s is far beyond any
// encode Kiln makes; the bound exists so arithmetic on bitrates cannot overflow.
const maxBitrate = 100_000_000_000

// bitrateUnits maps a suffix to its multiplier. Lower-case m is accepted as
// mega because engineers write "8m" and nobody means millibits.
var bitrateUnits = map[byte]int64{
	'k': 1_000, 'K': 1_000,
	'm': 1_000_000, 'M': 1_000_000,
	'g': 1_000_000_000, 'G': 1_000_000_000,
}

const bitrateForm = `want bits per second as an integer, or a number with a k, M or G suffix such as "256k", "8M" or "1.5M"`

// ParseBitrate reads "8M", "256k", "1.5M" or "2400000" (bits per second).
func ParseBitrate(s string) (Bitrate, error) {
	if s == "" {
		return 0, errors.New("empty bitrate; " + bitrateForm)
	}
	num, mul := s, int64(1)
	if m, ok := bitrateUnits[s[len(s)-1]]; ok {
		num, mul = s[:len(s)-1], m
	}
	if strings.HasPrefix(num, "-") {
		return 0, fmt.Errorf("bitrate %q is negative; it must be greater than 0", s)
	}
	if !isDecimal(num) {
		return 0, fmt.Errorf("invalid bitrate %q: %s", s, bitrateForm)
	}
	// big.Rat keeps "1.5M" exact; a float would turn some rates into
	// 1499999.9999 and then reject or round them.
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("invalid bitrate %q: %s", s, bitrateForm)
	}
	r.Mul(r, new(big.Rat).SetInt64(mul))
	if !r.IsInt() {
		return 0, fmt.Errorf("bitrate %q is not a whole number of bits per second", s)
	}
	if r.Sign() == 0 {
		return 0, fmt.Errorf("bitrate %q is zero; it must be greater than 0", s)
	}
	if r.Cmp(new(big.Rat).SetInt64(maxBitrate)) > 0 {
		return 0, fmt.Errorf("bitrate %q is above the 100G limit", s)
	}
	return Bitrate(r.Num().Int64()), nil
}

// isDecimal reports whether s is digits with at most one inner decimal point:
// no sign, no exponent, no fraction slash, nothing big.Rat would also take.
func isDecimal(s string) bool {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && len(s) <= 32
}

// String gives the compact form, as MarshalText does.
func (b Bitrate) String() string {
	switch {
	case b == 0:
		return "0"
	case b%1_000_000_000 == 0:
		return strconv.FormatInt(int64(b)/1_000_000_000, 10) + "G"
	case b%1_000_000 == 0:
		return strconv.FormatInt(int64(b)/1_000_000, 10) + "M"
	case b%1_000 == 0:
		return strconv.FormatInt(int64(b)/1_000, 10) + "k"
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText writes "8M" or "256k" when that is exact, else the integer, so
// the effective config reads the way people write bitrates.
func (b Bitrate) MarshalText() ([]byte, error) {
	return []byte(b.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. Unlike the config, it
// takes "0": that is how MarshalText writes "no bitrate" (pcm audio, prores
// video), and a worker reads its profile back from JSON.
func (b *Bitrate) UnmarshalText(text []byte) error {
	if string(text) == "0" {
		*b = 0
		return nil
	}
	return b.parse(string(text))
}

func (b *Bitrate) parse(s string) error {
	v, err := ParseBitrate(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// UnmarshalTOML takes what TextUnmarshaler cannot: a bare TOML integer, as in
// video_bitrate = 8000000.
func (b *Bitrate) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return b.parse(v)
	case int64:
		if v <= 0 {
			return fmt.Errorf("bitrate %d must be greater than 0", v)
		}
		if v > maxBitrate {
			return fmt.Errorf("bitrate %d is above the 100G limit", v)
		}
		*b = Bitrate(v)
		return nil
	case float64:
		return fmt.Errorf("bitrate %v is a bare float; write it as a string such as \"1.5M\"", v)
	}
	return fmt.Errorf("bitrate must be a string such as \"8M\" or an integer, got %s", describe(v))
}
