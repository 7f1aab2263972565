package daemon

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// intakeNotes are what the watch folders want an operator to see in
// `kiln health` and not only in the log: an inbox that is missing (the
// daemon is then degraded), and the entries an inbox holds that Kiln will
// never take in, with the reason (a link, a pipe, a folder named like
// media). Each watch folder sets and clears its own notes.
type intakeNotes struct {
	mu    sync.Mutex
	notes map[noteKey]intakeNote
}

type noteKey struct{ watch, subject string }

type intakeNote struct {
	text     string
	degraded bool // the watch cannot do its work
}

// maxNotesPerWatch keeps an inbox full of links from flooding the health
// answer; the rest are counted.
const maxNotesPerWatch = 20

// set records a note; it reports whether the note is new or changed, so that
// the caller logs it once.
func (n *intakeNotes) set(watch, subject, text string, degraded bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.notes == nil {
		n.notes = map[noteKey]intakeNote{}
	}
	k := noteKey{watch, subject}
	old, ok := n.notes[k]
	n.notes[k] = intakeNote{text: text, degraded: degraded}
	return !ok || old.text != text || old.degraded != degraded
}

// clear drops a note; it reports whether there was one.
func (n *intakeNotes) clear(watch, subject string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := noteKey{watch, subject}
	_, ok := n.notes[k]
	delete(n.notes, k)
	return ok
}

// retain drops the watch's notes whose subject keep rejects.
func (n *intakeNotes) retain(watch string, keep func(subject string) bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k := range n.notes {
		if k.watch == watch && !keep(k.subject) {
			delete(n.notes, k)
		}
	}
}

// list returns the notes in a stable order, problems first, and whether any
// of them makes the daemon degraded.
func (n *intakeNotes) list() ([]string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	keys := make([]noteKey, 0, len(n.notes))
	for k := range n.notes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b noteKey) int {
		da, db := n.notes[a].degraded, n.notes[b].degraded
		switch {
		case da && !db:
			return -1
		case db && !da:
			return 1
		case a.watch != b.watch:
			if a.watch < b.watch {
				return -1
			}
			return 1
		case a.subject < b.subject:
			return -1
		case a.subject > b.subject:
			return 1
		}
		return 0
	})
	var (
		out      []string
		degraded bool
		perWatch = map[string]int{}
		more     = map[string]int{}
	)
	for _, k := range keys {
		note := n.notes[k]
		degraded = degraded || note.degraded
		if perWatch[k.watch] >= maxNotesPerWatch && !note.degraded {
			more[k.watch]++
			continue
		}
		perWatch[k.watch]++
		out = append(out, note.text)
	}
	for _, w := range slices.Sorted(maps.Keys(more)) {
		out = append(out, fmt.Sprintf("watch %q: %d more entries not taken in (see the log)", w, more[w]))
	}
	return out, degraded
}
