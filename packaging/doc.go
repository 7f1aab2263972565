// Package packaging turns encoded renditions into adaptive-bitrate packages:
// the bitrate ladder, CMAF (fragmented MP4) tracks, HLS playlists for MPEG-TS
// and CMAF segments, the DASH MPD, Smooth Streaming manifests, AES-128
// segment encryption and its keys, thumbnails, and tar packages with a
// SHA-256 manifest.
//
// It is pure Go and knows nothing of libav: the pipeline encodes, and hands
// this package plain samples (an access unit with its timestamps) or whole
// MPEG-TS segments. Everything here is therefore testable in tables, and the
// writers (MP4 boxes, playlists, manifests) are deterministic.
//
// MP4 and CMAF boxes are written and read with github.com/Eyevinn/mp4ff, not
// by hand: one well-kept library of the field, whose typed boxes name every
// field (a timescale is Timescale, not the third u32), read back what they
// write, and already hold the boxes a next need brings (CENC, hvc1, sidx,
// colr). This package decides the values; mp4ff lays out the bytes. The
// init segments are pinned by golden dumps in testdata (go test -update
// rewrites them).
//
// It must not touch the job's staging or publishing: it writes files into
// the folder it is given, and the pipeline decides when they become visible.
package packaging
