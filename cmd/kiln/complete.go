package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kiln/api"
)

// completeTimeout bounds a completion's question to kilnd: a shell that
// waits longer on Tab feels broken.
const completeTimeout = 2 * time.Second

// ask fetches path from kilnd for a completion. It returns false when kilnd
// does not answer: completion then offers nothing rather than an error,
// because the shell would print the error in the middle of the command line.
func (c *cli) ask(cmd *cobra.Command, path string, out any) bool {
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	api := newClient(c.socket)
	api.http.Timeout = completeTimeout
	_, err := api.call(ctx, "GET", path, nil, out)
	return err == nil
}

// completeProfiles offers the names of the profiles kilnd has in force.
func (c *cli) completeProfiles(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var profiles map[string]struct {
		Kind string `json:"kind"`
	}
	if !c.ask(cmd, "/v1/profiles", &profiles) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for name, p := range profiles {
		if strings.HasPrefix(name, toComplete) {
			out = append(out, name+"\t"+p.Kind)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeWatches offers the names of the watch folders in force.
func (c *cli) completeWatches(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var watches []struct {
		Name  string `json:"name"`
		Inbox string `json:"inbox"`
	}
	if !c.ask(cmd, "/v1/watches", &watches) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, w := range watches {
		if strings.HasPrefix(w.Name, toComplete) {
			out = append(out, w.Name+"\t"+termSafe(w.Inbox))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeJobs offers the ids of the jobs in the given states (any state
// when none is given), each described by its source and profile.
func (c *cli) completeJobs(states ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if len(states) == 0 {
			states = []string{""}
		}
		var out []string
		for _, state := range states {
			path := "/v1/jobs"
			if state != "" {
				path += "?state=" + url.QueryEscape(state)
			}
			var jobs []api.Job
			if !c.ask(cmd, path, &jobs) {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			for _, j := range jobs {
				id := fmt.Sprint(j.ID)
				if strings.HasPrefix(id, toComplete) {
					// The description is shown by zsh and fish: escape it.
					out = append(out, fmt.Sprintf("%s\t%s %s %s", id, termSafe(filepath.Base(j.Source)), termSafe(j.Profile), termSafe(j.State)))
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}
