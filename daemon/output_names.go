package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"kiln/daemon/store"
)

// outputNameMu serialises the choice of output names in this process, so
// that a watch folder and an API submission naming the same output folder
// cannot both take one free name. Nodes of a fleet sharing an output
// folder are kept apart by the store (ErrOutputNameTaken, see addSource);
// staging's Publish, which never replaces a delivery, is the last guard.
var outputNameMu sync.Mutex

// errRedropRefused: the watch's on_redrop = "fail" refuses a file dropped
// again under a name already delivered.
var errRedropRefused = errors.New("delivered before")

// maxNameBytes is the longest source file name Kiln takes in: NAME_MAX (255)
// less the longest suffix it adds to a name it derives from the source's:
// "-9999.error.json.tmp" (20 bytes) of an error file written in failed/
// (the output side adds less: "~9999.kiln.json", 15 bytes).
const maxNameBytes = 255 - len("-9999.error.json.tmp")

// nameTooLong says why a file name is refused, or "".
func nameTooLong(name string) string {
	if len(name) <= maxNameBytes {
		return ""
	}
	return fmt.Sprintf("the file name is %d bytes long; Kiln takes names of at most %d bytes (the file system's limit of 255 less the %d bytes Kiln adds to name its report and error files): rename it shorter",
		len(name), maxNameBytes, 255-maxNameBytes)
}

// stemOf is a file name without its extension.
func stemOf(name string) string {
	return strings.TrimSuffix(name, filepath.Ext(name))
}

// chooseOutputName picks the S of <outputDir>/S/P/ for a new source, so that
// no delivery is ever replaced:
//   - the file name's stem, when no delivery and no unfinished source holds it;
//   - when the stem holds a delivery of this very file name (the file was
//     dropped again), "S~2", "S~3"…, or errRedropRefused when onRedrop is
//     "fail";
//   - otherwise (another file of the same stem, "a.mov" after "a.mp4"), the
//     full file name, then "a.mov~2"….
//
// note says, for the log and the report, why the name is not the stem; "" when
// it is.
func (d *Daemon) chooseOutputName(ctx context.Context, outputDir, sourcePath, onRedrop string) (name, note string, err error) {
	outputNameMu.Lock()
	defer outputNameMu.Unlock()
	base := filepath.Base(sourcePath)
	stem := stemOf(base)
	inUse, err := d.store.OutputNamesInUse(ctx, outputDir)
	if err != nil {
		return "", "", err
	}
	free := func(n string) bool {
		if inUse[n] {
			return false
		}
		_, err := os.Lstat(filepath.Join(outputDir, n))
		return errors.Is(err, fs.ErrNotExist)
	}
	if free(stem) {
		return stem, "", nil
	}
	next := func(prefix string) (string, error) {
		for i := 2; i < 10000; i++ {
			if n := fmt.Sprintf("%s~%d", prefix, i); free(n) {
				return n, nil
			}
		}
		return "", fmt.Errorf("no free output folder name for %s in %s (tried up to %s~9999)", base, outputDir, prefix)
	}
	if deliveredAs(outputDir, stem, base) {
		if onRedrop == "fail" {
			return "", "", fmt.Errorf("%w: %s was delivered before, to %s; the watch's on_redrop = \"fail\" refuses to deliver it again: move the earlier delivery away, or rename the file",
				errRedropRefused, base, filepath.Join(outputDir, stem))
		}
		if name, err = next(stem); err != nil {
			return "", "", err
		}
		return name, fmt.Sprintf("output folder %s/ instead of %s/: %s was delivered before, to %s/, which Kiln does not replace (on_redrop = \"version\")",
			name, stem, base, stem), nil
	}
	name = base
	if !free(name) {
		if name, err = next(base); err != nil {
			return "", "", err
		}
	}
	return name, fmt.Sprintf("output folder %s/ instead of %s/: %s/ holds, or is kept for, another source with the same stem, which Kiln does not replace",
		name, stem, stem), nil
}

// deliveredAs reports whether <outputDir>/<name>/ holds a delivery whose
// report names a source file called base.
func deliveredAs(outputDir, name, base string) bool {
	entries, err := os.ReadDir(filepath.Join(outputDir, name))
	if err != nil {
		return false
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(outputDir, name, e.Name(), name+".kiln.json"))
		if err != nil {
			continue
		}
		var r struct {
			Source string `json:"source"`
		}
		if json.Unmarshal(b, &r) == nil && filepath.Base(r.Source) == base {
			return true
		}
	}
	return false
}

// errorFileName is the name of the S.error.json that goes next to a source
// filed to failed/ as dest: the stem cut, at a character boundary, so that
// the name fits NAME_MAX even for a source whose own name barely does.
func errorFileName(dest string) string {
	stem := stemOf(filepath.Base(dest))
	const suffix = ".error.json.tmp" // writeFileAtomic's temporary name is the longest
	if limit := 255 - len(suffix); len(stem) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		stem = stem[:cut]
	}
	return stem + ".error.json"
}

// outputNote is the report's warning for a job whose output folder is not its
// source's stem; the log said why when the source was taken in.
func outputNote(j store.Job) string {
	stem := stemOf(filepath.Base(j.SourcePath))
	if j.OutputName == "" || j.OutputName == stem {
		return ""
	}
	return fmt.Sprintf("published to %s/ rather than %s/: that folder holds, or is kept for, another delivery (another file of the same stem, or this file delivered before), which Kiln never replaces",
		j.OutputName, stem)
}

// outputFolder is the S of the job's <output>/S/P/.
func outputFolder(j store.Job) string {
	if j.OutputName != "" {
		return j.OutputName
	}
	return stemOf(filepath.Base(j.SourcePath))
}

// addSource chooses ns's output name and records it with its jobs. In a
// fleet, another node may take the same name under the same output folder
// at the same instant; the store refuses the second insert
// (ErrOutputNameTaken), and the name is chosen again, now seeing the
// other's.
func (d *Daemon) addSource(ctx context.Context, ns store.NewSource, onRedrop string) (store.Source, []store.Job, string, error) {
	for tries := 0; ; tries++ {
		name, note, err := d.chooseOutputName(ctx, ns.OutputDir, ns.Path, onRedrop)
		if err != nil {
			return store.Source{}, nil, "", err
		}
		ns.OutputName = name
		src, jobs, err := d.store.AddSource(ctx, ns)
		if errors.Is(err, store.ErrOutputNameTaken) && tries < 5 {
			continue
		}
		return src, jobs, note, err
	}
}
