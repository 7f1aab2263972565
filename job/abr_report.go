package job

// ABRReport describes an adaptive-bitrate package: the ladder as encoded,
// the file groups a player or an origin opens, and where the keys went.
type ABRReport struct {
	Ladder         []ABRRung      `json:"ladder"`
	SegmentSeconds float64        `json:"segment_seconds"`
	GOPSeconds     float64        `json:"gop_seconds"`
	Formats        []string       `json:"formats"`
	Package        string         `json:"package"` // dir | tar
	Groups         []ABRFileGroup `json:"groups"`
	Encryption     *ABRKeys       `json:"encryption,omitempty"`
}

// ABRRung is one rendition of the ladder, with what its segments measured.
type ABRRung struct {
	Name      string `json:"name"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	FrameRate string `json:"frame_rate"`
	Bitrate   int64  `json:"bitrate"` // the encoder's target, bit/s
	Codecs    string `json:"codecs"`  // RFC 6381, from the encoded SPS
	// Encoder is the encoder that ran: libx264, or h264_nvenc when the rung
	// held one of the job's NVENC sessions.
	Encoder string `json:"encoder"`
	// PeakBitrate and AverageBitrate are measured over the segments (video
	// only), as HLS's BANDWIDTH and AVERAGE-BANDWIDTH count them.
	PeakBitrate    int64 `json:"peak_bitrate"`
	AverageBitrate int64 `json:"average_bitrate"`
	Segments       int   `json:"segments"`
}

// ABRFileGroup is one part of the package: a manifest and its media.
type ABRFileGroup struct {
	Format   string `json:"format"`
	Manifest string `json:"manifest"` // relative to the package
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Note     string `json:"note,omitempty"`
}

// ABRKeys says how the HLS renditions are encrypted and where the keys
// are; never the keys themselves.
type ABRKeys struct {
	Method    string       `json:"method"`     // AES-128
	KeyFolder string       `json:"key_folder"` // absolute, outside the package
	Keys      []ABRKeyInfo `json:"keys"`
}

// ABRKeyInfo is one content key: its URI in the playlists and its file.
type ABRKeyInfo struct {
	Number       int    `json:"number"`
	URI          string `json:"uri"`
	File         string `json:"file"`
	IV           string `json:"iv"`
	FirstSegment int    `json:"first_segment"`
}
