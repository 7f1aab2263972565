package packaging

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Key is one AES-128 content key of an HLS package and the segments it
// encrypts.
type Key struct {
	Number int      // from 1
	Key    [16]byte // secret
	IV     [16]byte // written into the playlists
	URI    string   // where players fetch the key
	// FirstSegment is the number (from 1) of the first segment the key
	// encrypts; it encrypts every segment up to the next key's first.
	FirstSegment int
}

// KeyFileName is the name of key n's file in the key folder: the 16 raw
// bytes a key server hands to players.
func KeyFileName(n int) string { return fmt.Sprintf("key-%d.key", n) }

// KeySchedule hands out the AES-128 keys of one job: a fresh key and IV
// from the random source for every rotation period, the same for every
// rendition, so that segment n of every rendition shares its key and a
// player switching renditions needs no extra key fetch.
type KeySchedule struct {
	uriTemplate string
	job         string
	rotate      int // segments per key; 0 = one key for the whole job
	random      io.Reader
	keys        []*Key
}

// NewKeySchedule prepares the keys of job. uriTemplate is the profile's
// key_uri: {job} becomes the job id and {key} the key number. rotate > 0
// starts a new key every rotate segments, which needs {key} in the
// template so that each key has its own URI. random is crypto/rand.Reader
// outside tests.
func NewKeySchedule(uriTemplate string, jobID int64, rotate int, random io.Reader) (*KeySchedule, error) {
	if uriTemplate == "" {
		return nil, fmt.Errorf("encryption needs a key URI")
	}
	if rotate > 0 && !strings.Contains(uriTemplate, "{key}") {
		return nil, fmt.Errorf("key rotation every %d segments needs {key} in key_uri %q, so that each key gets its own URI", rotate, uriTemplate)
	}
	return &KeySchedule{uriTemplate: uriTemplate, job: strconv.FormatInt(jobID, 10), rotate: max(rotate, 0), random: random}, nil
}

// ForSegment returns the key of segment n (from 1), making it on first use.
func (s *KeySchedule) ForSegment(n int) (*Key, error) {
	idx := 0
	if s.rotate > 0 {
		idx = (n - 1) / s.rotate
	}
	for len(s.keys) <= idx {
		k := &Key{Number: len(s.keys) + 1}
		if _, err := io.ReadFull(s.random, k.Key[:]); err != nil {
			return nil, fmt.Errorf("generating an AES-128 key: %w", err)
		}
		if _, err := io.ReadFull(s.random, k.IV[:]); err != nil {
			return nil, fmt.Errorf("generating an AES-128 IV: %w", err)
		}
		k.FirstSegment = len(s.keys)*max(s.rotate, 1) + 1
		k.URI = strings.NewReplacer("{job}", s.job, "{key}", strconv.Itoa(k.Number)).Replace(s.uriTemplate)
		s.keys = append(s.keys, k)
	}
	return s.keys[idx], nil
}

// Keys lists the keys handed out so far.
func (s *KeySchedule) Keys() []*Key { return s.keys }

// EncryptSegment encrypts a whole segment as HLS's METHOD=AES-128 asks:
// AES-128-CBC with PKCS#7 padding (RFC 8216 4.3.2.4).
func EncryptSegment(k *Key, plain []byte) []byte {
	block, err := aes.NewCipher(k.Key[:])
	if err != nil {
		panic(err) // a 16-byte key cannot fail
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, k.IV[:]).CryptBlocks(buf, buf)
	return buf
}

// DecryptSegment undoes EncryptSegment, checking the padding.
func DecryptSegment(k *Key, data []byte) ([]byte, error) {
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("encrypted segment of %d bytes is not whole AES blocks", len(data))
	}
	block, err := aes.NewCipher(k.Key[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, k.IV[:]).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, fmt.Errorf("segment does not decrypt: bad padding")
	}
	for _, v := range out[len(out)-pad:] {
		if int(v) != pad {
			return nil, fmt.Errorf("segment does not decrypt: bad padding")
		}
	}
	return out[:len(out)-pad], nil
}

// KeyInfo is what keys.json says about one key: everything but the secret,
// which stays in its own key file.
type KeyInfo struct {
	Number       int    `json:"number"`
	File         string `json:"file"`
	URI          string `json:"uri"`
	IV           string `json:"iv"`
	FirstSegment int    `json:"first_segment"`
}

// WriteKeys writes each key's 16 bytes to dir/key-N.key and an index,
// dir/keys.json, that tells a key server which URI serves which file. dir is
// created 0700 and the files 0600: only the owner (kiln) may read the keys.
func WriteKeys(dir string, keys []*Key) ([]KeyInfo, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating key folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting key folder: %w", err)
	}
	var infos []KeyInfo
	for _, k := range keys {
		name := KeyFileName(k.Number)
		if err := writePrivate(filepath.Join(dir, name), k.Key[:]); err != nil {
			return nil, err
		}
		infos = append(infos, KeyInfo{Number: k.Number, File: name, URI: k.URI, IV: "0x" + strings.ToUpper(hex.EncodeToString(k.IV[:])), FirstSegment: k.FirstSegment})
	}
	index, err := json.MarshalIndent(struct {
		Method string    `json:"method"`
		Keys   []KeyInfo `json:"keys"`
	}{"AES-128", infos}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writePrivate(filepath.Join(dir, "keys.json"), append(index, '\n')); err != nil {
		return nil, err
	}
	return infos, nil
}

// writePrivate creates a file readable by its owner only, from the first
// byte on (no window in which the umask's mode applies).
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("restricting key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing key file: %w", err)
	}
	return f.Close()
}
