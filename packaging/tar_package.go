package packaging

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ManifestFile is the SHA-256 manifest of a package, in the format
// `sha256sum -c` checks: "<hex>  <path>" a line.
const ManifestFile = "SHA256SUMS"

// FileSum is one file of a package and its digest.
type FileSum struct {
	Path   string // slash-separated, relative to the package root
	Size   int64
	SHA256 string
}

// SumFiles digests every regular file under dir, in path order, leaving
// out the manifest itself.
func SumFiles(dir string) ([]FileSum, error) {
	var sums []FileSum
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ManifestFile {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("package file %s is not a regular file", rel)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		sums = append(sums, FileSum{Path: rel, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digesting the package: %w", err)
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i].Path < sums[j].Path })
	return sums, nil
}

// Manifest renders sums as SHA256SUMS.
func Manifest(sums []FileSum) []byte {
	var b bytes.Buffer
	for _, s := range sums {
		fmt.Fprintf(&b, "%s  %s\n", s.SHA256, s.Path)
	}
	return b.Bytes()
}

// WriteManifest writes dir/SHA256SUMS for the files under dir.
func WriteManifest(dir string) ([]FileSum, error) {
	sums, err := SumFiles(dir)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), Manifest(sums), 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", ManifestFile, err)
	}
	return sums, nil
}

// WriteTar packs the files under dir into one tar at tarPath: SHA256SUMS
// first, so that a reader streaming the tar knows every digest before the
// files, then the files in path order, with folders, owner-neutral modes and
// one modification time, so that the same package always packs the same.
func WriteTar(dir, tarPath string, modTime time.Time) ([]FileSum, error) {
	sums, err := SumFiles(dir)
	if err != nil {
		return nil, err
	}
	out, err := os.OpenFile(tarPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating the package tar: %w", err)
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	modTime = modTime.UTC().Truncate(time.Second)
	manifest := Manifest(sums)
	if err := tw.WriteHeader(&tar.Header{Name: ManifestFile, Mode: 0o644, Size: int64(len(manifest)), ModTime: modTime, Format: tar.FormatPAX}); err != nil {
		return nil, fmt.Errorf("writing the package tar: %w", err)
	}
	if _, err := tw.Write(manifest); err != nil {
		return nil, fmt.Errorf("writing the package tar: %w", err)
	}
	folders := map[string]bool{}
	for _, s := range sums {
		// Each folder once, before its first file.
		var parents []string
		for p := filepath.Dir(filepath.FromSlash(s.Path)); p != "." && !folders[p]; p = filepath.Dir(p) {
			parents = append([]string{p}, parents...)
			folders[p] = true
		}
		for _, p := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: filepath.ToSlash(p) + "/", Mode: 0o755, ModTime: modTime, Format: tar.FormatPAX}); err != nil {
				return nil, fmt.Errorf("writing the package tar: %w", err)
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: s.Path, Mode: 0o644, Size: s.Size, ModTime: modTime, Format: tar.FormatPAX}); err != nil {
			return nil, fmt.Errorf("writing the package tar: %w", err)
		}
		if err := copyFile(tw, filepath.Join(dir, filepath.FromSlash(s.Path)), s.Size); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finishing the package tar: %w", err)
	}
	if err := out.Close(); err != nil {
		return nil, fmt.Errorf("finishing the package tar: %w", err)
	}
	return sums, nil
}

func copyFile(w io.Writer, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return fmt.Errorf("packing %s: %w", filepath.Base(path), err)
	}
	if n != size {
		return fmt.Errorf("packing %s: it changed size while being packed", filepath.Base(path))
	}
	return nil
}

// VerifyTar reads a package tar back: every file listed in its SHA256SUMS is
// in the tar with that digest, and nothing else is. It returns the number of
// files checked.
func VerifyTar(tarPath string) (int, error) {
	f, err := os.Open(tarPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	want := map[string]string{}
	seen := 0
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return seen, fmt.Errorf("reading %s: %w", filepath.Base(tarPath), err)
		}
		if i == 0 {
			if h.Name != ManifestFile {
				return 0, fmt.Errorf("%s starts with %s, not %s", filepath.Base(tarPath), h.Name, ManifestFile)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return 0, err
			}
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				sum, name, ok := strings.Cut(line, "  ")
				if !ok {
					return 0, fmt.Errorf("%s line %q is not \"<sha256>  <path>\"", ManifestFile, line)
				}
				want[name] = sum
			}
			continue
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		sum, ok := want[h.Name]
		if !ok {
			return seen, fmt.Errorf("%s holds %s, which %s does not list", filepath.Base(tarPath), h.Name, ManifestFile)
		}
		d := sha256.New()
		if _, err := io.Copy(d, tr); err != nil {
			return seen, err
		}
		if got := hex.EncodeToString(d.Sum(nil)); got != sum {
			return seen, fmt.Errorf("%s in %s has SHA-256 %s, the manifest says %s", h.Name, filepath.Base(tarPath), got, sum)
		}
		delete(want, h.Name)
		seen++
	}
	if len(want) > 0 {
		return seen, fmt.Errorf("%s lists %d files the tar does not hold", ManifestFile, len(want))
	}
	return seen, nil
}
