package daemon

import "kiln/config"

// nvencSessions counts the NVENC sessions the running jobs hold. A job's
// sessions are released when it leaves d.running, however it ended.
func (d *Daemon) nvencSessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nvencSessionsLocked()
}

func (d *Daemon) nvencSessionsLocked() int {
	n := 0
	for _, w := range d.running {
		n += w.nvencSessions
	}
	return n
}

// grantNVENCLocked is grantNVENC for a GPU job with profile p starting
// now, with d.mu held: the sessions the running jobs hold are taken.
func (d *Daemon) grantNVENCLocked(p config.Profile) (int, string) {
	h := d.hardware.Load()
	limit, why := d.nvencLimit(h)
	return grantNVENC(p, h, limit, why, d.nvencSessionsLocked())
}
