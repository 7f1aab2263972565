package pipeline

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"kiln/job"
	"kiln/packaging"
)

// verifyLoudness measures each audio rendition of the package again, as a
// player gets it (its segments joined, decrypted when encrypted), when the
// profile sets a loudness target.
func (v *abrVerifier) verifyLoudness(report *job.Report) ([]job.Check, error) {
	var checks []job.Check
	for i := range report.Loudness {
		l := &report.Loudness[i]
		if l.Track > len(v.pkg.Audio) || l.Before <= silence {
			continue
		}
		path, err := v.joinAudio(v.pkg.Audio[l.Track-1])
		if err != nil {
			return nil, err
		}
		info, err := Probe(path)
		if err != nil || len(info.AudioStreams()) != 1 {
			return nil, fmt.Errorf("verifying loudness: audio rendition %d is unreadable", l.Track)
		}
		idx := info.AudioStreams()[0].Index
		lengths := map[int]int64{idx: v.run.measuredSamples(l.Track - 1)}
		m, err := measureLoudness(path, []int{idx}, nil, lengths)
		if err != nil {
			return nil, err
		}
		got := m[idx]
		l.After, l.TruePeakAfter = round2(got.Integrated), round2(got.TruePeak)
		checks = append(checks,
			job.Check{Name: fmt.Sprintf("audio %d loudness", l.Track), Expected: fmt.Sprintf("%.1f LUFS ± 1", l.Target),
				Actual: fmt.Sprintf("%.1f LUFS", got.Integrated), Pass: math.Abs(got.Integrated-l.Target) <= 1},
			job.Check{Name: fmt.Sprintf("audio %d true peak", l.Track), Expected: fmt.Sprintf("≤ %.1f dBTP", truePeakCeiling+1),
				Actual: fmt.Sprintf("%.1f dBTP", got.TruePeak), Pass: got.TruePeak <= truePeakCeiling+1})
	}
	return checks, nil
}

// joinAudio writes one audio rendition as a single file in the scratch
// folder: CMAF init and segments, or its MPEG-TS segments decrypted.
func (v *abrVerifier) joinAudio(a packaging.AudioRendition) (string, error) {
	var parts []string
	var key func(int) *packaging.Key
	ext := ".ts"
	switch {
	case a.CMAF != nil:
		ext = ".mp4"
		dir := filepath.Join(v.dir, packaging.CMAFFolder, a.Name)
		parts = append(parts, filepath.Join(dir, packaging.CMAFInit))
		for _, s := range a.CMAF.Segments() {
			parts = append(parts, filepath.Join(dir, s.URI))
		}
	case a.TS != nil:
		dir := filepath.Join(v.dir, packaging.HLSFolder, a.Name)
		segs := a.TS.Segments()
		for _, s := range segs {
			parts = append(parts, filepath.Join(dir, s.URI))
		}
		key = func(i int) *packaging.Key { return segs[i].Key }
	case a.Smooth != "":
		return filepath.Join(v.dir, packaging.SmoothFolder, a.Smooth), nil
	default:
		return "", fmt.Errorf("audio rendition %s has no output to measure", a.Name)
	}
	var joined []byte
	for i, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("verifying loudness: %w", err)
		}
		if key != nil && key(i) != nil {
			if b, err = packaging.DecryptSegment(key(i), b); err != nil {
				return "", fmt.Errorf("verifying loudness: %s: %w", filepath.Base(p), err)
			}
		}
		joined = append(joined, b...)
	}
	out := filepath.Join(v.tmp, a.Name+ext)
	if err := os.WriteFile(out, joined, 0o600); err != nil {
		return "", fmt.Errorf("verifying loudness: %w", err)
	}
	return out, nil
}
