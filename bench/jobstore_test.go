package main

import (
	"io"
	"strings"
	"testing"
)

// TestStoreTargetsAndTable checks that both backends' scenarios reach the
// targets, with the limit each one meets, and the section's table.
func TestStoreTargetsAndTable(t *testing.T) {
	h := &harness{log: io.Discard, res: &Results{Host: Host{Cores: 2}, Store: &StoreResult{
		Path: "bench/results/tmp/run/store", FS: "ext4", FsyncP50: 0.1, FsyncP99: 0.9,
		Postgres: "PostgreSQL 15, fsync=on, synchronous_commit=on",
		Scenarios: []StoreScenario{
			{Name: "enqueue → claim → finish in turn, 1 claimer", Backend: "SQLite", Claimers: 1, Jobs: 1000, JobsPerSec: 1000, CPUPerWall: 0.7, OpsPerCommit: 1},
			{Name: "1 producer, 8 claimers, concurrently", Backend: "SQLite", Claimers: 8, Jobs: 1000, JobsPerSec: 6000, CPUPerWall: 0.9, EnqueueP50: 0.15, OpsPerCommit: 3},
			{Name: "1 producer, 8 claimers, concurrently", Backend: "PostgreSQL", Claimers: 8, Jobs: 1000, JobsPerSec: 400, CPUPerWall: 0.5, ServerCPUPerWall: 0.5, EnqueueP50: 2},
		},
	}}}
	h.judge()
	var store []Target
	for _, tg := range h.res.Targets {
		if strings.HasPrefix(tg.Name, "Job store") {
			store = append(store, tg)
		}
	}
	if len(store) != 3 {
		t.Fatalf("%d store targets, want 3: %+v", len(store), h.res.Targets)
	}
	for i, want := range []struct {
		name  string
		met   bool
		limit string
	}{
		{"Job store, SQLite: enqueue → claim → finish in turn", false, "a ceiling of 3333 jobs/s"},
		{"Job store, SQLite: 1 producer, 8 claimers", true, "no more than 6667 jobs/s can enter the queue"},
		{"Job store, PostgreSQL: 1 producer, 8 claimers", false, "and the server 1.25 ms (0.50 cores)"},
	} {
		got := store[i]
		if !strings.HasPrefix(got.Name, want.name) || got.Met != want.met || !strings.Contains(got.Limits, want.limit) {
			t.Errorf("target %d: %q met=%v limits %q; want %q met=%v with %q", i, got.Name, got.Met, got.Limits, want.name, want.met, want.limit)
		}
	}
	if !h.missed("Job store") {
		t.Error("missed(\"Job store\") is false with two store targets missed")
	}
	md := h.markdown(map[string]string{})
	for _, row := range []string{
		"| SQLite | 1 producer, 8 claimers, concurrently | 6000 | 0.00 | 0.00 | 0.15 | 0 | 0.90 / - | 3.00 |",
		"| PostgreSQL | 1 producer, 8 claimers, concurrently | 400 | 0.00 | 0.00 | 2.00 | 0 | 0.50 / 0.50 | - |",
		"fsync=on, synchronous_commit=on",
	} {
		if !strings.Contains(md, row) {
			t.Errorf("latest.md lacks %q", row)
		}
	}
}
