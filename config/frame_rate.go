package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

const frameRateForm = `want frames per second such as "25", "50", "29.97" or "30000/1001"`

// ParseFrameRate reads "25", "29.97", "23.976" or "30000/1001" and returns
// the rate as a reduced fraction. Decimals within 0.005 of an NTSC-family
// rate (N×1000/1001) mean that rate: nobody who writes 29.97 wants 2997/100,
// which would drift a frame every few minutes against real 525-line video.
func ParseFrameRate(s string) (num, den int, err error) {
	if n, d, ok := strings.Cut(s, "/"); ok {
		num, err1 := parseDigits(n)
		den, err2 := parseDigits(d)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("invalid frame rate %q: %s", s, frameRateForm)
		}
		if den == 0 {
			return 0, 0, fmt.Errorf("frame rate %q divides by zero", s)
		}
		return checkRate(s, num, den)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	w, err1 := parseDigits(whole)
	f, err2 := parseDigits(frac)
	if err1 != nil || hasDot && err2 != nil {
		return 0, 0, fmt.Errorf("invalid frame rate %q: %s", s, frameRateForm)
	}
	if !hasDot || f == 0 {
		return checkRate(s, w, 1)
	}
	v, _ := strconv.ParseFloat(s, 64)
	if k := math.Round(v * 1.001); k >= 1 && math.Abs(v-k*1000/1001) < 0.005 {
		return checkRate(s, int(k)*1000, 1001)
	}
	return checkRate(s, w*pow10(len(frac))+f, pow10(len(frac)))
}

// parseDigits takes plain decimal digits only, at most 7 of them, so that no
// product in ParseFrameRate can overflow.
func parseDigits(s string) (int, error) {
	if s == "" || len(s) > 7 {
		return 0, fmt.Errorf("want 1 to 7 digits")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("want digits")
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, nil
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

func checkRate(s string, num, den int) (int, int, error) {
	g := gcd(num, den)
	if g > 1 {
		num, den = num/g, den/g
	}
	if num < den || num > 300*den {
		return 0, 0, fmt.Errorf("frame rate %q is out of range; want 1 to 300 fps", s)
	}
	return num, den, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// FrameRateRational returns the profile's output frame rate as num/den. ok is
// false when the profile keeps the source's rate (frame_rate unset).
func (p *Profile) FrameRateRational() (num, den int, ok bool) {
	if p.FrameRate == "" {
		return 0, 0, false
	}
	num, den, err := ParseFrameRate(p.FrameRate)
	if err != nil {
		return 0, 0, false
	}
	return num, den, true
}
