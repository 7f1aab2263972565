package daemon

import (
	"context"

	"kiln/config"
	"kiln/staging"
)

// sweepStaging removes the staging folders left behind by this node's jobs
// that a stop cut off. On an output folder shared by a fleet, a folder of a
// job that runs on another node now is that node's work in progress, and
// stays. The store is asked after the folder was listed: a job that was not
// running elsewhere then cannot have started elsewhere since, in a folder
// created before.
func (d *Daemon) sweepStaging(cfg *config.Config) {
	keep := func(id int64) bool {
		elsewhere, err := d.store.RunningElsewhere(context.Background(), id)
		if err != nil {
			d.Logger.Warn("cleaning staging: keeping a folder whose job could not be looked up", "job", id, "err", err)
			return true
		}
		return elsewhere
	}
	for _, w := range cfg.Watches {
		if err := staging.Sweep(w.Output, keep); err != nil {
			d.Logger.Warn("cleaning staging", "watch", w.Name, "err", err)
		}
	}
}
