// Package packaging turns encoded renditions into adaptive-bitrate packages:
// the bitrate ladder, CMAF (fragmented MP4) tracks, HLS playlists for MPEG-TS
// and CMAF segments, the DASH MPD, Smooth Streaming manifests, AES-128
// segment encryption and its keys, thumbnails, and tar packages with a
// SHA-256 manifest.
//
// It is pure Go and knows nothing of libav: the pipeline encodes, and hands
// this package plain samples (an access unit with its timestamps) or whole
// MPEG-TS segments. Everything here is therefore testable in tables, and the
// byte-level writers (MP4 boxes, playlists, manifests) are deterministic.
//
// It must not touch the job's staging or publishing: it writes files into
// the folder it is given, and the pipeline decides when they become visible.
package packaging
