package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"kiln/api"
)

func (c *cli) emitJSON(raw []byte) {
	c.out.Write(raw)
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		fmt.Fprintln(c.out)
	}
}

func (c *cli) printNodes(raw []byte) error {
	var nodes []api.Node
	if err := decode(raw, &nodes); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tRUNNING\tSLOTS\tGPU\tNVENC\tLAST HEARTBEAT\tVERSION\tHOST")
	for _, n := range nodes {
		name, state := termSafe(n.Name), "up"
		if n.Self {
			name += " (this)"
		}
		if !n.Up {
			state = "down"
		}
		gpu, nvenc := "-", "-"
		if h := n.Hardware; h != nil {
			if len(h.GPUs) > 0 {
				gpu = fmt.Sprintf("%d× %s", len(h.GPUs), termSafe(h.GPUs[0].Name))
			}
			var codecs []string
			for codec, cp := range h.NVENC {
				if cp.Available {
					codecs = append(codecs, codec)
				}
			}
			if len(codecs) > 0 {
				sort.Strings(codecs)
				nvenc = termSafe(strings.Join(codecs, ","))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d (%d gpu)\t%d (%d gpu)\t%s\t%s\t%s ago\t%s\t%s\n", name, state,
			n.Running, n.RunningGPU, n.Slots, n.GPUSlots, gpu, nvenc,
			time.Since(n.HeartbeatAt).Round(time.Second), termSafe(n.Version), termSafe(n.Host))
	}
	return tw.Flush()
}

func (c *cli) printHealth(h api.Health) {
	fmt.Fprintf(c.out, "status   %s\nversion  %s\nuptime   %s\nqueued   %d\nrunning  %d\n",
		termSafe(h.Status), termSafe(h.Version), (time.Duration(h.Uptime) * time.Second).String(), h.QueueDepth, h.Running)
	if h.ReloadError != "" {
		fmt.Fprintf(c.out, "reload   rejected: %s\n", termSafe(h.ReloadError))
	}
}

func (c *cli) printProfiles(raw []byte) error {
	var profiles map[string]struct {
		Kind         string   `json:"kind"`
		Standard     string   `json:"standard"`
		Codec        string   `json:"codec"`
		Container    string   `json:"container"`
		Formats      []string `json:"formats"`
		VideoBitrate string   `json:"video_bitrate"`
		Priority     string   `json:"priority"`
	}
	if err := decode(raw, &profiles); err != nil {
		return err
	}
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tKIND\tSTANDARD\tCODEC\tCONTAINER\tVIDEO\tPRIORITY")
	for _, n := range names {
		p := profiles[n]
		container := p.Container
		if p.Kind == "abr" {
			container = strings.Join(p.Formats, "+")
		}
		video := p.VideoBitrate
		if video == "0" { // prores and ffv1 are quality-based
			video = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termSafe(n), termSafe(p.Kind), dash(p.Standard), dash(p.Codec),
			dash(container), dash(video), termSafe(p.Priority))
	}
	return tw.Flush()
}

func (c *cli) printWatches(raw []byte) error {
	var watches []struct {
		Name     string   `json:"name"`
		Inbox    string   `json:"inbox"`
		Output   string   `json:"output"`
		Profiles []string `json:"profiles"`
		Priority string   `json:"priority"`
		Settle   string   `json:"settle"`
	}
	if err := decode(raw, &watches); err != nil {
		return err
	}
	if len(watches) == 0 {
		fmt.Fprintln(c.out, "no watch folders")
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WATCH\tINBOX\tOUTPUT\tPROFILES\tPRIORITY\tSETTLE")
	for _, w := range watches {
		prio := w.Priority
		if prio == "" {
			prio = "(profile's)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termSafe(w.Name), termSafe(w.Inbox), termSafe(w.Output),
			termSafe(strings.Join(w.Profiles, ",")), termSafe(prio), termSafe(w.Settle))
	}
	return tw.Flush()
}

func (c *cli) printHardware(raw []byte) error {
	var h api.Hardware
	if err := decode(raw, &h); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "backend\t%s\n", termSafe(h.Backend))
	fmt.Fprintf(tw, "cuda\t%s\n", capability(h.CUDA))
	codecs := make([]string, 0, len(h.NVENC))
	for codec := range h.NVENC {
		codecs = append(codecs, codec)
	}
	sort.Strings(codecs)
	for _, codec := range codecs {
		fmt.Fprintf(tw, "nvenc %s\t%s\n", termSafe(codec), capability(h.NVENC[codec]))
	}
	fmt.Fprintf(tw, "nvdec\t%s\n", capability(h.NVDEC))
	fmt.Fprintf(tw, "nvenc sessions\t%d in use of %d (%s)\n", h.NVENCSessions, h.NVENCSessionLimit, termSafe(h.NVENCSessionLimitReason))
	if len(h.GPUs) == 0 {
		fmt.Fprintf(tw, "gpus\tnone\n")
	}
	for _, g := range h.GPUs {
		fmt.Fprintf(tw, "gpu %d\t%s, compute %s, %.1f GiB\n", g.Index, termSafe(g.Name), termSafe(g.ComputeCapability), float64(g.MemoryBytes)/(1<<30))
	}
	fmt.Fprintf(tw, "probed\t%s\n", h.ProbedAt.Local().Format(time.DateTime))
	return tw.Flush()
}

func capability(c api.Capability) string {
	if c.Available {
		return "yes"
	}
	if c.Reason == "" {
		return "no"
	}
	return "no: " + termSafe(c.Reason)
}

// dash writes an empty field as "-", and escapes a field that is not.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return termSafe(s)
}

// eta writes seconds as "1m5s", or "--" before there is an estimate.
func eta(seconds float64) string {
	switch {
	case seconds <= 0:
		return "--"
	case seconds < 1:
		return "<1s"
	}
	return time.Duration(seconds * float64(time.Second)).Round(time.Second).String()
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ")
}
