package packaging

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTarPackage(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"master.m3u8": "#EXTM3U\n", "hls/720p/seg-00001.ts": "G", "hls/audio/index.m3u8": "#EXTM3U\n"})
	out := filepath.Join(t.TempDir(), "S.tar")
	sums, err := WriteTar(dir, out, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 3 || sums[0].Path != "hls/720p/seg-00001.ts" || len(sums[0].SHA256) != 64 {
		t.Fatalf("sums %+v", sums)
	}
	n, err := VerifyTar(out)
	if err != nil || n != 3 {
		t.Fatalf("VerifyTar: %d files, %v", n, err)
	}
	// SHA256SUMS first, folders before their files.
	f, _ := os.Open(out)
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	f.Close()
	want := "SHA256SUMS hls/ hls/720p/ hls/720p/seg-00001.ts hls/audio/ hls/audio/index.m3u8 master.m3u8"
	if strings.Join(names, " ") != want {
		t.Errorf("tar entries %v, want %s", names, want)
	}

	// A changed byte is caught.
	b, _ := os.ReadFile(out)
	i := strings.Index(string(b), "#EXTM3U")
	b[i] = '!'
	os.WriteFile(out, b, 0o644)
	if _, err := VerifyTar(out); err == nil {
		t.Error("a tampered tar passed")
	}
}

func TestWriteManifest(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "abc", "b/c.txt": ""})
	if _, err := WriteManifest(dir); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.txt\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  b/c.txt\n"
	if string(got) != want {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", got, want)
	}
	// Digesting again leaves the manifest out.
	if sums, _ := SumFiles(dir); len(sums) != 2 {
		t.Errorf("the manifest digests itself: %+v", sums)
	}
}
