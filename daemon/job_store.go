package daemon

import (
	"path/filepath"

	"kiln/config"
	"kiln/daemon/store"
)

// openJobStore opens the store the config names: PostgreSQL for a fleet, or
// SQLite in state_dir.
func openJobStore(cfg *config.Config) (*store.Store, error) {
	if cfg.Daemon.Store != "" {
		// The password may come from store_password_file or a systemd
		// credential rather than the config.
		url, err := cfg.Daemon.StoreURL()
		if err != nil {
			return nil, err
		}
		return store.OpenPostgres(url)
	}
	return store.Open(filepath.Join(cfg.Daemon.StateDir, "kiln.db"))
}
