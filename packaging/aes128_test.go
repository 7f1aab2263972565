package packaging

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestSegmentEncryptionRoundTrip(t *testing.T) {
	k := &Key{Key: [16]byte{1, 2, 3}, IV: [16]byte{9}}
	for _, n := range []int{0, 1, 15, 16, 17, 188, 1000} {
		plain := bytes.Repeat([]byte{0x47}, n)
		enc := EncryptSegment(k, plain)
		if len(enc)%16 != 0 || len(enc) <= n-1 || len(enc) > n+16 {
			t.Errorf("%d bytes encrypt to %d", n, len(enc))
		}
		back, err := DecryptSegment(k, enc)
		if err != nil || !bytes.Equal(back, plain) {
			t.Errorf("%d bytes: round trip failed: %v", n, err)
		}
	}
	wrong := &Key{Key: [16]byte{4}, IV: [16]byte{9}}
	if _, err := DecryptSegment(wrong, EncryptSegment(k, bytes.Repeat([]byte{1}, 100))); err == nil {
		t.Error("a segment decrypted with the wrong key passed the padding check")
	}
}

func TestKeySchedule(t *testing.T) {
	s, err := NewKeySchedule("https://keys.example.com/{job}.key", 7, 0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.ForSegment(1)
	b, _ := s.ForSegment(500)
	if a != b || len(s.Keys()) != 1 || a.URI != "https://keys.example.com/7.key" {
		t.Errorf("without rotation one key serves every segment: %+v %+v", a, b)
	}
	if a.Key == ([16]byte{}) || a.IV == ([16]byte{}) || a.Key == a.IV {
		t.Error("key or IV not random")
	}
	if _, err := NewKeySchedule("https://keys.example.com/{job}.key", 7, 10, rand.Reader); err == nil {
		t.Error("rotation without {key} in the URI was accepted")
	}
	if _, err := NewKeySchedule("", 7, 0, rand.Reader); err == nil {
		t.Error("an empty key URI was accepted")
	}
}

func TestWriteKeysIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "P.keys")
	s, _ := NewKeySchedule("https://k/{job}/{key}", 3, 1, rand.Reader)
	s.ForSegment(2)
	infos, err := WriteKeys(dir, s.Keys())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[1].URI != "https://k/3/2" || infos[1].FirstSegment != 2 {
		t.Errorf("key infos %+v", infos)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("key folder mode %04o", st.Mode().Perm())
	}
	for _, name := range []string{"key-1.key", "key-2.key", "keys.json"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, want mode 0600", name, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "key-2.key"))
	if !bytes.Equal(b, s.Keys()[1].Key[:]) {
		t.Error("key file does not hold the key")
	}
	index, _ := os.ReadFile(filepath.Join(dir, "keys.json"))
	var doc struct{ Keys []KeyInfo }
	secret := hex.EncodeToString(b)
	if json.Unmarshal(index, &doc) != nil || len(doc.Keys) != 2 || bytes.Contains(bytes.ToLower(index), []byte(secret)) {
		t.Errorf("keys.json must list the keys without their secrets:\n%s", index)
	}
}
