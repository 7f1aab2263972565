//go:build cuda

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"kiln/gpu"
	"kiln/hardware"
	"kiln/kernels"
	"kiln/kernels/paritytest"
)

// caseResult is one parity case in the report.
type caseResult struct {
	Case    string   `json:"case"`
	Kernels []string `json:"kernels,omitempty"`
	Pass    bool     `json:"pass"`
	// Launched is what the GPU backend launched, when it differs from
	// Kernels: the case would then not test what it claims to.
	Launched []string             `json:"launched,omitempty"`
	Mismatch *paritytest.Mismatch `json:"first_mismatch,omitempty"`
	Error    string               `json:"error,omitempty"`
}

// kernelResult rolls the cases up per PTX entry point.
type kernelResult struct {
	Kernel string   `json:"kernel"`
	Pass   bool     `json:"pass"`
	Cases  int      `json:"cases"`
	Failed []string `json:"failed,omitempty"`
	// FirstMismatch is the first failing case's first differing sample.
	FirstMismatch *paritytest.Mismatch `json:"first_mismatch,omitempty"`
}

type parityReport struct {
	Device  hardware.GPU   `json:"device"`
	Pass    bool           `json:"pass"`
	Kernels []kernelResult `json:"kernels"`
	Cases   []caseResult   `json:"cases"`
}

var errParity = errors.New("parity failed")

// parity runs every parity case on the CPU backend and on the GPU, and
// prints one JSON report; it fails when any case or kernel does.
func parity(ctx context.Context, stdout io.Writer, device int, match string) error {
	b, err := gpu.Open(gpu.Options{Device: device})
	if err != nil {
		return err
	}
	defer b.Close()
	d := b.Device()
	rep := parityReport{Pass: true, Device: hardware.GPU{Index: d.Index, Name: d.Name,
		ComputeCapability: d.ComputeCapability(), MemoryBytes: d.MemoryBytes}}
	perKernel := map[string]*kernelResult{}
	for _, c := range paritytest.Cases() {
		if !strings.Contains(c.Name, match) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		before := b.LaunchCounts()
		r := caseResult{Case: c.Name, Kernels: c.Kernels, Pass: true}
		m, err := paritytest.Run(c, kernels.CPU(), b)
		if err != nil {
			r.Pass, r.Error, r.Mismatch = false, err.Error(), m
		}
		if launched := launchedSince(before, b.LaunchCounts()); !c.WantErr && !sameSet(launched, c.Kernels) {
			r.Pass, r.Launched = false, launched
			if r.Error == "" {
				r.Error = fmt.Sprintf("the GPU launched %v, the case declares %v", launched, c.Kernels)
			}
		}
		rep.Pass = rep.Pass && r.Pass
		rep.Cases = append(rep.Cases, r)
		for _, k := range c.Kernels {
			kr := perKernel[k]
			if kr == nil {
				kr = &kernelResult{Kernel: k, Pass: true}
				perKernel[k] = kr
			}
			kr.Cases++
			if !r.Pass {
				kr.Pass = false
				kr.Failed = append(kr.Failed, c.Name)
				if kr.FirstMismatch == nil {
					kr.FirstMismatch = r.Mismatch
				}
			}
		}
	}
	for _, kr := range perKernel {
		rep.Kernels = append(rep.Kernels, *kr)
	}
	sort.Slice(rep.Kernels, func(i, j int) bool { return rep.Kernels[i].Kernel < rep.Kernels[j].Kernel })
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if len(rep.Cases) == 0 {
		return fmt.Errorf("no parity case matches %q", match)
	}
	if !rep.Pass {
		return errParity
	}
	return nil
}

// launchedSince lists the kernels whose launch count grew.
func launchedSince(before, after map[string]int) []string {
	var out []string
	for k, n := range after {
		if n > before[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sameSet(a, b []string) bool {
	set := map[string]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		if !set[x] {
			return false
		}
		delete(set, x)
	}
	return len(set) == 0
}
