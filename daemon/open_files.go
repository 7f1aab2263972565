package daemon

import (
	"log/slog"
	"syscall"
)

// raiseOpenFilesLimit sets the soft limit of open files to the hard one and
// says what it is. Go's runtime does the same at start (since Go 1.19);
// doing it here keeps it true whatever starts kilnd, and the log line tells
// an operator what the API's connection caps must fit in: every inbox scan,
// worker pipe and store connection needs descriptors too.
func raiseOpenFilesLimit(log *slog.Logger, apiConns int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the open files limit", "err", err)
		return
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = raised.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("cannot raise the open files limit", "soft", lim.Cur, "hard", lim.Max, "err", err)
		} else {
			lim = raised
		}
	}
	log.Debug("open files limit", "limit", lim.Cur)
	// Half the descriptors at most go to API clients; the rest is intake's.
	if uint64(apiConns)*2 > lim.Cur {
		log.Warn("api_connections is more than half the open files limit; raise LimitNOFILE= in kilnd.service or lower api_connections",
			"api_connections", apiConns, "open_files_limit", lim.Cur)
	}
}
