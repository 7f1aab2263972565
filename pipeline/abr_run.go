package pipeline

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kiln/job"
	"kiln/kernels"
	"kiln/packaging"
	"kiln/pipeline/plan"
	"kiln/staging"
)

// runABR carries out an ABR plan: encode every rendition once into every
// format, write the manifests, thumbnails and keys, verify, and publish. The
// keys are published to <output>/S/P.keys/ (0700, files 0600), outside the
// package, just before the package itself appears in <output>/S/P/: a web
// server that serves the package cannot serve its keys.
func runABR(ctx context.Context, b kernels.Backend, spec job.Spec, info job.MediaInfo, plan plan.Plan, gpu *gpuCodecs, report *job.Report,
	began time.Time, progress func(job.Progress)) (_ *job.Report, err error) {
	a := plan.ABR
	need := estimateABRBytes(plan, info.Duration)
	if err := checkFreeSpace(spec.OutputRoot, need); err != nil {
		return report, err
	}
	defer func() {
		if isNoSpace(err) {
			err = &SpaceError{Dir: spec.OutputRoot, Need: need, DuringTheWrite: true}
		}
	}()
	name := spec.OutputFolder()
	stage, err := staging.New(spec.OutputRoot, name, spec.Profile.Name, spec.ID)
	if err != nil {
		return report, err
	}
	stage.Mode = spec.PublishMode()
	published := false
	var keyStage *staging.Dir
	defer func() {
		if !published {
			stage.Discard()
			if keyStage != nil {
				keyStage.Discard()
			}
		}
	}()

	measured, err := measureGains(spec.Source, plan, report)
	if err != nil {
		return report, err
	}
	// The package is for web servers and CDNs, which read it as another
	// user: the job folder is world-readable (the keys live elsewhere).
	if err := os.Chmod(stage.Path, 0o755); err != nil {
		return report, fmt.Errorf("opening the package folder to readers: %w", err)
	}
	// A tar package is assembled in a folder of its own, then packed.
	pkgDir := stage.Path
	if a.Package == "tar" {
		pkgDir = filepath.Join(stage.Path, "package")
		if err := os.Mkdir(pkgDir, 0o755); err != nil {
			return report, fmt.Errorf("creating package folder: %w", err)
		}
	}
	var keys *packaging.KeySchedule
	if a.KeyURI != "" && a.Has("hls") {
		if keys, err = packaging.NewKeySchedule(a.KeyURI, spec.ID, a.KeyRotation, rand.Reader); err != nil {
			return report, &ProfileError{Reason: err.Error()}
		}
	}

	run := runState{gpu: gpu, audio: measured}
	enc, err := transcodeABR(ctx, b, plan, run, spec.Source, pkgDir, keys, info, progress)
	if enc != nil {
		report.Warnings = append(report.Warnings, enc.stats.Warnings...)
		setCodecBackends(report, enc.stats)
	}
	if err != nil {
		return report, err
	}
	if err := checkTruncation(info, enc.stats); err != nil {
		return report, err
	}
	if progress != nil {
		progress(job.Progress{Frames: enc.stats.VideoFrames, Fraction: 0.96, Stage: "package"})
	}

	pkg := abrPackage(pkgDir, name, a, enc)
	if err := writeManifests(pkg, a, keys != nil); err != nil {
		return report, err
	}
	if err := writeThumbnails(pkgDir, a, enc, pkg.Duration); err != nil {
		return report, err
	}
	var keyInfos []packaging.KeyInfo
	if keys != nil {
		if keyStage, err = staging.New(spec.OutputRoot, name, spec.Profile.Name+".keys", spec.ID); err != nil {
			return report, err
		}
		// Content keys are for the key server to take, not for the
		// playout accounts that read the package.
		keyStage.Mode, keyStage.ParentMode = 0o700, spec.PublishMode()
		keyStage.Companion = spec.Profile.Name // published first, then the package
		if keyInfos, err = packaging.WriteKeys(keyStage.Path, keys.Keys()); err != nil {
			return report, err
		}
	}

	if progress != nil {
		progress(job.Progress{Frames: enc.stats.VideoFrames, Fraction: 0.98, Stage: "verify"})
	}
	v := abrVerifier{dir: pkgDir, plan: plan, run: run, enc: enc, pkg: pkg}
	if keyStage != nil {
		v.keyDir, v.keys = keyStage.Path, keys.Keys()
	}
	outputs, checks, err := v.verify(report)
	if err != nil {
		return report, err
	}

	groups, err := packaging.Groups(pkgDir, groupSpecs(pkg, a, keys != nil))
	if err != nil {
		return report, err
	}
	if a.Package == "tar" {
		tarName := name + ".tar"
		sums, err := packaging.WriteTar(pkgDir, stage.File(tarName), began)
		if err != nil {
			return report, err
		}
		if err := os.RemoveAll(pkgDir); err != nil {
			return report, fmt.Errorf("removing the packed folder: %w", err)
		}
		sum, size, err := fileSHA256(stage.File(tarName))
		if err != nil {
			return report, err
		}
		// Read the tar back: every file there, each with its digest.
		n, err := packaging.VerifyTar(stage.File(tarName))
		actual := fmt.Sprintf("%d files match SHA256SUMS", n)
		if err != nil {
			actual = err.Error()
		}
		checks = append(checks, job.Check{Name: "tar package", Expected: fmt.Sprintf("%d files match SHA256SUMS", len(sums)),
			Actual: actual, Pass: err == nil && n == len(sums)})
		// The manifests live inside the tar now; the checks name them.
		outputs = []job.Output{{Name: tarName, Path: stage.FinalFile(tarName), Size: size, SHA256: sum}}
	} else {
		if _, err := packaging.WriteManifest(pkgDir); err != nil {
			return report, err
		}
		// The package's own manifest is a deliverable too, and it sits at
		// the top when no streaming manifest does (Smooth Streaming only).
		outputs = append(outputs, job.Output{Name: packaging.ManifestFile})
		if !a.Has("hls") && !a.Has("dash") {
			outputs = append(outputs[len(outputs)-1:], outputs[:len(outputs)-1]...)
		}
		for i := range outputs {
			outputs[i].Path = stage.FinalFile(outputs[i].Name)
			if outputs[i].SHA256, outputs[i].Size, err = fileSHA256(filepath.Join(pkgDir, outputs[i].Name)); err != nil {
				return report, err
			}
		}
	}
	report.Outputs = outputs
	report.Checks = checks
	report.ABR = abrReport(a, enc, pkg, groups, keys != nil)
	if keyStage != nil {
		report.ABR.Encryption = &job.ABRKeys{Method: "AES-128", KeyFolder: keyStage.Final}
		for _, k := range keyInfos {
			report.ABR.Encryption.Keys = append(report.ABR.Encryption.Keys, job.ABRKeyInfo{Number: k.Number, URI: k.URI, File: k.File, IV: k.IV, FirstSegment: k.FirstSegment})
		}
	}

	if quarantined, err := sealReport(stage, name, report, began, enc.stats.VideoFrames); err != nil {
		if quarantined {
			published = true
			if keyStage != nil {
				keyStage.Discard()
			}
		}
		return report, err
	}
	// Keys first: a package whose keys are missing would not play.
	if keyStage != nil {
		if err := keyStage.Publish(); err != nil {
			return report, err
		}
	}
	if err := stage.Publish(); err != nil {
		return report, err
	}
	published = true
	return report, nil
}

// estimateABRBytes is what an ABR package will take: every rung and audio
// track once per format (MPEG-TS, CMAF, Smooth Streaming each hold a copy),
// twice for a tar while the loose files are packed, with a margin for
// container overhead and encoders that run over their rate.
func estimateABRBytes(plan plan.Plan, duration float64) int64 {
	var rate int64
	for _, r := range plan.ABR.Rungs {
		rate += r.Bitrate
	}
	for _, au := range plan.Audio {
		rate += au.BitRate
	}
	copies := float64(len(plan.ABR.Formats))
	if plan.ABR.Package == "tar" {
		copies *= 2
	}
	return int64(float64(rate) / 8 * duration * copies * 1.15)
}

// abrPackage gathers the renditions' tracks for the manifests.
func abrPackage(dir, name string, a *plan.ABRPlan, enc *abrEncode) *packaging.Package {
	p := &packaging.Package{Dir: dir, Name: name, Segment: a.GOP.Segment, WithIFrame: true,
		Duration: float64(enc.stats.VideoFrames) / a.Rungs[0].Rate.Float()}
	for i, r := range enc.rungs {
		v := packaging.VideoRendition{Rung: r.rung.Rung, AVC: enc.avc[i], CMAF: r.writer.cmaf}
		if r.writer.ts != nil {
			v.TS = r.writer.ts.track
		}
		if r.writer.smooth != nil {
			v.Smooth = r.rung.Name + ".ismv"
		}
		p.Video = append(p.Video, v)
	}
	for i, au := range enc.audio {
		label := "Audio"
		if l := hlsLanguageName(au.language); l != "" {
			label = l
		} else if i > 0 {
			label = fmt.Sprintf("Audio %d", i+1)
		}
		r := packaging.AudioRendition{Name: au.name, Label: label, Language: au.language, Config: au.config(),
			TS: au.tsTrack, CMAF: au.writer.cmaf}
		if au.writer.smooth != nil {
			r.Smooth = au.name + ".isma"
		}
		p.Audio = append(p.Audio, r)
	}
	return p
}

// writeManifests writes each format's manifests. HLS over CMAF shares the
// DASH segments, so it comes with DASH; with encryption it is left out,
// because the CMAF segments are clear and would undo the HLS encryption.
func writeManifests(p *packaging.Package, a *plan.ABRPlan, encrypted bool) error {
	if a.Has("hls") {
		if err := p.WriteHLS(); err != nil {
			return err
		}
	}
	if a.Has("dash") {
		if err := p.WriteDASH(); err != nil {
			return err
		}
		if a.Has("hls") && !encrypted {
			if err := p.WriteCMAFHLS(); err != nil {
				return err
			}
		}
	}
	if a.Has("smooth") {
		if err := p.WriteSmooth(); err != nil {
			return err
		}
	}
	return nil
}

func writeThumbnails(dir string, a *plan.ABRPlan, enc *abrEncode, duration float64) error {
	thumbs := filepath.Join(dir, packaging.ThumbFolder)
	if err := os.MkdirAll(thumbs, 0o755); err != nil {
		return fmt.Errorf("creating thumbnails folder: %w", err)
	}
	if enc.poster == nil {
		return fmt.Errorf("no picture for the poster frame")
	}
	if err := packaging.WritePoster(filepath.Join(thumbs, packaging.PosterFile), enc.poster); err != nil {
		return err
	}
	if a.ThumbEvery > 0 {
		if _, err := packaging.WriteThumbnailTrack(thumbs, enc.stills, a.ThumbEvery, duration); err != nil {
			return err
		}
	}
	return nil
}

func groupSpecs(p *packaging.Package, a *plan.ABRPlan, encrypted bool) []packaging.GroupSpec {
	var specs []packaging.GroupSpec
	if a.Has("hls") {
		note := "MPEG-TS segments"
		if encrypted {
			note += ", AES-128"
		}
		specs = append(specs, packaging.GroupSpec{Format: "HLS", Manifest: packaging.HLSMaster, Folder: packaging.HLSFolder, Note: note})
	}
	if a.Has("dash") {
		specs = append(specs, packaging.GroupSpec{Format: "DASH", Manifest: packaging.DASHManifestFile, Folder: packaging.CMAFFolder, Note: "CMAF segments"})
		if a.Has("hls") && !encrypted {
			specs = append(specs, packaging.GroupSpec{Format: "HLS (CMAF)", Manifest: packaging.CMAFHLSMaster, Note: "plays the DASH manifest's CMAF segments"})
		}
	}
	if a.Has("smooth") {
		specs = append(specs, packaging.GroupSpec{Format: "Smooth Streaming", Manifest: packaging.SmoothFolder + "/" + p.Name + ".ism", Folder: packaging.SmoothFolder,
			Note: "the .ism for an IIS origin; " + packaging.SmoothFolder + "/" + packaging.SmoothStaticManifest + " and its pre-split fragments for any HTTP server"})
	}
	note := "poster"
	if a.ThumbEvery > 0 {
		note = "poster, sprite sheets and a WebVTT thumbnail track"
	}
	specs = append(specs, packaging.GroupSpec{Format: "thumbnails", Manifest: packaging.ThumbFolder + "/" + packaging.PosterFile, Folder: packaging.ThumbFolder, Note: note})
	return specs
}

func abrReport(a *plan.ABRPlan, enc *abrEncode, p *packaging.Package, groups []packaging.FileGroup, encrypted bool) *job.ABRReport {
	r := &job.ABRReport{SegmentSeconds: round3(a.GOP.Segment), GOPSeconds: round3(float64(a.GOP.Frames) / a.Rate.Float()),
		Formats: a.Formats, Package: a.Package}
	for i, v := range p.Video {
		rung := job.ABRRung{Name: v.Rung.Name, Width: v.Rung.Width, Height: v.Rung.Height, FrameRate: v.Rung.Rate.String(),
			Bitrate: v.Rung.Bitrate, Codecs: enc.avc[i].Codecs(), Encoder: enc.rungs[i].encName}
		var segs []packaging.Segment
		timescale := float64(packaging.TSTimescale)
		switch {
		case v.TS != nil:
			for _, s := range v.TS.Segments() {
				segs = append(segs, s.Segment)
			}
		case v.CMAF != nil:
			segs, timescale = v.CMAF.Segments(), float64(v.CMAF.Config().Timescale)
		}
		sizes, durs := make([]int64, len(segs)), make([]float64, len(segs))
		for j, s := range segs {
			sizes[j], durs[j] = s.Size, float64(s.Duration)/timescale
		}
		if len(segs) > 0 {
			rung.PeakBitrate = packaging.PeakBitrate(sizes, durs, a.GOP.Segment)
			rung.AverageBitrate = packaging.AverageBitrate(sizes, durs)
		}
		rung.Segments = len(segs)
		r.Ladder = append(r.Ladder, rung)
	}
	for _, g := range groups {
		r.Groups = append(r.Groups, job.ABRFileGroup{Format: g.Format, Manifest: g.Manifest, Files: g.Files, Bytes: g.Bytes, Note: g.Note})
	}
	return r
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// hlsLanguageName names a few common ISO 639-2 languages for players' menus.
func hlsLanguageName(code string) string {
	return map[string]string{"eng": "English", "fre": "Français", "fra": "Français", "ger": "Deutsch", "deu": "Deutsch",
		"spa": "Español", "ita": "Italiano", "por": "Português", "dut": "Nederlands", "nld": "Nederlands"}[strings.ToLower(code)]
}
