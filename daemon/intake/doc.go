// Package intake decides when a file dropped into a watch folder is ready to
// become jobs: its name is not one we ignore, its size and mtime have stopped
// changing for the watch's settle time, no process still holds it open for
// writing, and its container is structurally whole.
//
// The package only looks. It never opens a file for writing, moves, renames
// or deletes anything, and it knows nothing of the job store or of libav: the
// structural checks read a few container headers by hand, so that a file is
// judged complete without decoding it. The daemon's watch loop combines these
// answers and acts on them.
//
// One rule runs through every check: a file is reported incomplete only in a
// state that a file being written passes through (empty, a box running past
// the end, no index yet, a cut packet), since only then can waiting help. A
// file that is damaged in a way more bytes cannot repair is reported complete,
// and the pipeline rejects it with a reason the user can read, rather than it
// sitting in the inbox for ever.
package intake
