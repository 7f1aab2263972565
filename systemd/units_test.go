// Package systemd_test checks the files in systemd/: that systemd accepts
// the units, that scripts/install.sh puts everything where systemd looks,
// and that the example config agrees with the units.
package systemd_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln/config"
)

// fakeBin makes stand-ins for the built programs: install.sh only copies
// them, and systemd-analyze only checks that ExecStart is executable.
func fakeBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"kilnd", "kiln-worker", "kiln"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// install runs scripts/install.sh into destdir.
func install(t *testing.T, destdir, bin string, env ...string) string {
	t.Helper()
	cmd := exec.Command("sh", "../scripts/install.sh")
	cmd.Env = append(os.Environ(), append([]string{"DESTDIR=" + destdir, "BIN=" + bin}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	return string(out)
}

// TestUnitsVerify runs systemd-analyze verify on the units as installed,
// with ExecStart pointing at a real file (verify checks it is executable).
// Unknown keys and bad values are only warnings to systemd, so any word
// about our units fails the test, not just the exit status.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed: run make setup (it installs the systemd package): ", err)
	}
	if out, err := exec.Command(analyze, "--version").CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze cannot run here: %v\n%s", err, out)
	}
	dest := t.TempDir()
	install(t, dest, fakeBin(t), "PREFIX=/usr")
	units := t.TempDir()
	var paths []string
	for _, name := range []string{"kilnd.service", "kilnd.socket"} {
		b, err := os.ReadFile(filepath.Join(dest, "usr/lib/systemd/system", name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "ExecStart=/usr/bin/kilnd", "ExecStart="+filepath.Join(dest, "usr/bin/kilnd"))
		p := filepath.Join(units, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...)
	cmd.Dir = units
	out, err := cmd.CombinedOutput()
	var ours []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "kilnd.") || strings.Contains(line, units) {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
	}
	if err != nil && len(ours) == 0 {
		t.Logf("full output:\n%s", out)
	}
}

// TestVerifyCatchesMistakes: the check above fails on a misspelt key and a
// missing program, or it proves nothing.
func TestVerifyCatchesMistakes(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed: run make setup: ", err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"typo.service":    "[Service]\nType=notify\nExecStart=/bin/true\nWatchdogSecs=30s\n",
		"missing.service": "[Service]\nExecStart=/nonexistent/kilnd\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		out, err := exec.Command(analyze, "verify", "--man=no", p).CombinedOutput()
		if err == nil && !strings.Contains(string(out), name) {
			t.Errorf("%s passed verify silently", name)
		}
	}
}

// TestInstallScript: install.sh honours PREFIX and DESTDIR, points the units
// at the installed kilnd and config, and never replaces an existing config.
func TestInstallScript(t *testing.T) {
	bin := fakeBin(t)
	dest := t.TempDir()
	out := install(t, dest, bin) // PREFIX defaults to /usr/local
	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/kilnd":                        0o755,
		"usr/local/libexec/kiln/kiln-worker":         0o755,
		"usr/local/bin/kiln":                         0o755,
		"usr/local/lib/systemd/system/kilnd.service": 0o644,
		"usr/local/lib/systemd/system/kilnd.socket":  0o644,
		"usr/local/lib/sysusers.d/kiln.conf":         0o644,
		"usr/local/lib/tmpfiles.d/kiln.conf":         0o644,
		"usr/local/share/kiln/kiln.toml.example":     0o644,
		"usr/local/share/doc/kiln/README.md":         0o644,
		"etc/kiln/kiln.toml":                         0o640,
	} {
		st, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("not installed: %s", path)
			continue
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), mode)
		}
	}
	if !strings.Contains(out, "wrote /etc/kiln/kiln.toml") {
		t.Errorf("install output: %s", out)
	}
	svc, _ := os.ReadFile(filepath.Join(dest, "usr/local/lib/systemd/system/kilnd.service"))
	if !strings.Contains(string(svc), "ExecStart=/usr/local/bin/kilnd --config /etc/kiln/kiln.toml\n") {
		t.Errorf("installed unit's ExecStart:\n%s", svc)
	}
	// The internal worker is off the PATH.
	if _, err := os.Stat(filepath.Join(dest, "usr/local/bin/kiln-worker")); err == nil {
		t.Error("kiln-worker installed in $PREFIX/bin; it belongs in $PREFIX/libexec/kiln")
	}

	// A packager's layout, and an operator's edited config kept.
	conf := filepath.Join(dest, "etc/kiln/kiln.toml")
	os.WriteFile(conf, []byte("# edited by the operator\n"), 0o644)
	out = install(t, dest, bin, "PREFIX=/usr", "SYSCONFDIR=/etc")
	if b, _ := os.ReadFile(conf); string(b) != "# edited by the operator\n" {
		t.Errorf("install.sh replaced an existing config:\n%s", b)
	}
	if !strings.Contains(out, "keeping /etc/kiln/kiln.toml") {
		t.Errorf("install output does not say it kept the config: %s", out)
	}
	svc, _ = os.ReadFile(filepath.Join(dest, "usr/lib/systemd/system/kilnd.service"))
	if !strings.Contains(string(svc), "ExecStart=/usr/bin/kilnd --config /etc/kiln/kiln.toml\n") ||
		!strings.Contains(string(svc), "file:/usr/share/doc/kiln/README.md") {
		t.Errorf("PREFIX=/usr unit's ExecStart or Documentation:\n%s", svc)
	}
	// SYSCONFDIR reaches the tmpfiles entry that guards the config's mode.
	install(t, dest, bin, "PREFIX=/usr", "SYSCONFDIR=/opt/etc")
	tmpf, _ := os.ReadFile(filepath.Join(dest, "usr/lib/tmpfiles.d/kiln.conf"))
	if !strings.Contains(string(tmpf), "z     /opt/etc/kiln/kiln.toml 0640 root kiln -") {
		t.Errorf("tmpfiles entry with SYSCONFDIR=/opt/etc:\n%s", tmpf)
	}

	// Without the built programs it says what to do.
	cmd := exec.Command("sh", "../scripts/install.sh")
	cmd.Env = append(os.Environ(), "DESTDIR="+t.TempDir(), "BIN="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "run make build first") {
		t.Errorf("install without binaries: %v: %s", err, b)
	}
}

// TestSysusersAndTmpfiles applies the sysusers and tmpfiles entries to an
// empty root: the kiln user and group appear, kiln joins the GPU groups,
// and the folders are created with their owner and modes.
func TestSysusersAndTmpfiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("systemd-tmpfiles needs root to give folders to kiln")
	}
	sysusers, err1 := exec.LookPath("systemd-sysusers")
	tmpfiles, err2 := exec.LookPath("systemd-tmpfiles")
	if err1 != nil || err2 != nil {
		t.Fatal("systemd-sysusers or systemd-tmpfiles is not installed: run make setup")
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	// With --root, relative config paths are looked up inside the root.
	here, _ := os.Getwd()
	if out, err := exec.Command(sysusers, "--root="+root, filepath.Join(here, "kiln.sysusers.conf")).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	m := regexp.MustCompile(`(?m)^kiln:x:(\d+):(\d+):[^:]*:/var/lib/kiln:`).FindStringSubmatch(string(passwd))
	if m == nil {
		t.Fatalf("no kiln user in /etc/passwd:\n%s", passwd)
	}
	group, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	for _, g := range []string{`(?m)^video:x:\d+:kiln$`, `(?m)^render:x:\d+:kiln$`, `(?m)^kiln:x:` + m[2] + `:$`} {
		if !regexp.MustCompile(g).Match(group) {
			t.Errorf("/etc/group lacks %s:\n%s", g, group)
		}
	}
	// An operator's config from an older install, world-readable.
	os.MkdirAll(filepath.Join(root, "etc/kiln"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/kiln/kiln.toml"), []byte("[daemon]\n"), 0o644)
	if out, err := exec.Command(tmpfiles, "--root="+root, "--create", filepath.Join(here, "kiln.tmpfiles.conf")).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	for dir, mode := range map[string]os.FileMode{"run/kiln": 0o750, "srv/kiln": 0o775 | os.ModeSetgid, "srv/kiln/in": 0o775 | os.ModeSetgid} {
		st, err := os.Stat(filepath.Join(root, dir))
		if err != nil {
			t.Errorf("tmpfiles did not create %s: %v", dir, err)
			continue
		}
		if st.Mode()&(os.ModePerm|os.ModeSetgid) != mode {
			t.Errorf("%s mode %v, want %v", dir, st.Mode(), mode)
		}
		if uid := statUID(st); uid != m[1] {
			t.Errorf("%s owned by uid %s, want kiln (%s)", dir, uid, m[1])
		}
	}
	// The config is root:kiln 0640: kilnd reads it, other users cannot.
	st, err := os.Stat(filepath.Join(root, "etc/kiln/kiln.toml"))
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if st.Mode().Perm() != 0o640 || sys.Uid != 0 || strconv.Itoa(int(sys.Gid)) != m[2] {
		t.Errorf("kiln.toml is %v uid %d gid %d, want 0640 root:kiln (gid %s)", st.Mode().Perm(), sys.Uid, sys.Gid, m[2])
	}
}

// TestExampleConfigMatchesUnits: the example config passes validation and
// agrees with the units on the socket, the state folder, the writable
// folders and the stop timeout.
func TestExampleConfigMatchesUnits(t *testing.T) {
	cfg, err := config.Load("kiln.toml")
	if err != nil {
		t.Fatalf("kiln.toml does not validate: %v", err)
	}
	svc := unitKeys(t, "kilnd.service")
	sock := unitKeys(t, "kilnd.socket")
	if got := sock["ListenStream"]; len(got) != 1 || got[0] != cfg.Daemon.Socket {
		t.Errorf("kilnd.socket listens on %v, the config's socket is %s", got, cfg.Daemon.Socket)
	}
	if cfg.Daemon.StateDir != "/var/lib/"+svc["StateDirectory"][0] {
		t.Errorf("state_dir %s is not StateDirectory=%s", cfg.Daemon.StateDir, svc["StateDirectory"][0])
	}
	if filepath.Dir(cfg.Daemon.Socket) != "/run/"+svc["RuntimeDirectory"][0] {
		t.Errorf("socket %s is not in RuntimeDirectory=%s", cfg.Daemon.Socket, svc["RuntimeDirectory"][0])
	}
	if cfg.Daemon.SocketGroup != sock["SocketGroup"][0] || sock["SocketMode"][0] != "0660" {
		t.Errorf("socket_group %q, but kilnd.socket has group %v mode %v", cfg.Daemon.SocketGroup, sock["SocketGroup"], sock["SocketMode"])
	}
	stop, err := time.ParseDuration(svc["TimeoutStopSec"][0])
	if err != nil || cfg.Daemon.StopGrace.Duration >= stop {
		t.Errorf("stop_grace %s must be below TimeoutStopSec=%v", cfg.Daemon.StopGrace, svc["TimeoutStopSec"])
	}
	writable := strings.TrimPrefix(svc["ReadWritePaths"][0], "-")
	for _, w := range cfg.Watches {
		for _, dir := range []string{w.Inbox, w.Output} {
			if !strings.HasPrefix(dir, writable+"/") {
				t.Errorf("watch %s: %s is outside ReadWritePaths=%s", w.Name, dir, writable)
			}
		}
	}
	for _, want := range []string{"Type=notify", "KillMode=mixed", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"PrivateTmp=yes", "ProtectHome=yes", "RestrictAddressFamilies=AF_UNIX", "Restart=on-failure", "User=kiln"} {
		k, v, _ := strings.Cut(want, "=")
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("kilnd.service %s = %v, want %s", k, got, v)
		}
	}
	if len(svc["WatchdogSec"]) != 1 || len(svc["DeviceAllow"]) < 3 {
		t.Errorf("kilnd.service lacks WatchdogSec or the GPU DeviceAllow lines")
	}
}

func statUID(st os.FileInfo) string {
	return strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid))
}

// unitKeys reads the Key=value lines of a unit file.
func unitKeys(t *testing.T, name string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// TestUnitSecurityExposure: systemd-analyze security rates the installed
// kilnd.service at an exposure of 1.5 or less, and the hardening that
// rating rests on is there (a drop in the score from some other setting
// must not hide a lost system-call filter).
func TestUnitSecurityExposure(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed: run make setup (it installs the systemd package): ", err)
	}
	dest := t.TempDir()
	install(t, dest, fakeBin(t), "PREFIX=/usr")
	unit := filepath.Join(dest, "usr/lib/systemd/system/kilnd.service")
	exposure, out := securityExposure(t, analyze, unit)
	t.Logf("systemd-analyze security: exposure %.1f", exposure)
	if exposure > 1.5 {
		t.Errorf("kilnd.service exposure %.1f, want <= 1.5:\n%s", exposure, out)
	}
	svc := unitKeys(t, "kilnd.service")
	for _, want := range []string{"SystemCallFilter=@system-service", "SystemCallErrorNumber=EPERM", "ProtectProc=invisible",
		"PrivateMounts=yes", "RemoveIPC=yes", "IPAddressDeny=any", "SystemCallArchitectures=native"} {
		k, v, _ := strings.Cut(want, "=")
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("kilnd.service %s = %v, want %s", k, got, v)
		}
	}
	if len(svc["Documentation"]) == 0 {
		t.Error("kilnd.service has no Documentation=")
	}

	// The measure is real: the unit without its hardening rates far worse.
	b, _ := os.ReadFile(unit)
	var bare []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, _, _ := strings.Cut(line, "="); k == "SystemCallFilter" || k == "IPAddressDeny" || k == "ProtectProc" || k == "PrivateMounts" {
			continue
		}
		bare = append(bare, line)
	}
	weak := filepath.Join(t.TempDir(), "kilnd.service")
	os.WriteFile(weak, []byte(strings.Join(bare, "\n")), 0o644)
	if e, out := securityExposure(t, analyze, weak); e <= 1.5 {
		t.Errorf("without its filter and deny lists the unit still rates %.1f:\n%s", e, out)
	}
}

// securityExposure runs systemd-analyze security --offline=yes on a unit
// file and returns its overall exposure.
func securityExposure(t *testing.T, analyze, unit string) (float64, string) {
	t.Helper()
	cmd := exec.Command(analyze, "security", "--offline=yes", "--no-pager", unit)
	cmd.Dir = filepath.Dir(unit)
	b, err := cmd.CombinedOutput()
	out := string(b)
	m := regexp.MustCompile(`Overall exposure level for kilnd\.service: (\d+\.\d)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v, no exposure level in:\n%s", err, out)
	}
	e, _ := strconv.ParseFloat(m[1], 64)
	return e, out
}

// TestInstallUninstall: make uninstall's script removes everything install
// put (the GPU worker too) and nothing else: the config and the state stay,
// unless PURGE=1. A worker left in $PREFIX/bin by an older install is
// removed by the next install.
func TestInstallUninstall(t *testing.T) {
	bin := fakeBin(t)
	os.WriteFile(filepath.Join(bin, "kiln-gpu-worker"), []byte("#!/bin/sh\n"), 0o755)
	dest := t.TempDir()
	// An older install's worker on the PATH, and an unrelated program.
	os.MkdirAll(filepath.Join(dest, "usr/local/bin"), 0o755)
	os.WriteFile(filepath.Join(dest, "usr/local/bin/kiln-worker"), []byte("old"), 0o755)
	os.WriteFile(filepath.Join(dest, "usr/local/bin/other"), []byte("x"), 0o755)
	out := install(t, dest, bin)
	if !strings.Contains(out, "removed the old /usr/local/bin/kiln-worker") {
		t.Errorf("install does not say it removed the old worker: %s", out)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/libexec/kiln/kiln-gpu-worker")); err != nil {
		t.Errorf("GPU worker not in libexec: %v", err)
	}
	// Man pages and completions as make install copies them from make man
	// (kiln's and kilnd's, and another program's that must stay).
	for _, f := range []string{"share/man/man1/kiln.1", "share/man/man1/kiln-submit.1", "share/man/man1/kilnd.1",
		"share/man/man1/kilnx.1", "share/bash-completion/completions/kiln", "share/zsh/site-functions/_kilnd",
		"share/fish/vendor_completions.d/kiln.fish"} {
		p := filepath.Join(dest, "usr/local", f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	// What kilnd made while it ran.
	os.MkdirAll(filepath.Join(dest, "var/lib/kiln"), 0o750)
	os.WriteFile(filepath.Join(dest, "var/lib/kiln/jobs.db"), []byte("db"), 0o640)

	uninstall := func(env ...string) string {
		cmd := exec.Command("sh", "../scripts/install.sh", "--uninstall")
		cmd.Env = append(os.Environ(), append([]string{"DESTDIR=" + dest}, env...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh --uninstall: %v\n%s", err, b)
		}
		return string(b)
	}
	out = uninstall()
	if got, want := files(t, dest), []string{"etc/kiln/kiln.toml", "usr/local/bin/other", "usr/local/share/man/man1/kilnx.1", "var/lib/kiln/jobs.db"}; !slices.Equal(got, want) {
		t.Errorf("after uninstall: %v, want %v\n%s", got, want, out)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/libexec/kiln")); err == nil {
		t.Error("uninstall left the empty libexec/kiln folder")
	}
	if !strings.Contains(out, "kept /etc/kiln and /var/lib/kiln") {
		t.Errorf("uninstall does not say what it kept: %s", out)
	}
	uninstall("PURGE=1")
	if got, want := files(t, dest), []string{"usr/local/bin/other", "usr/local/share/man/man1/kilnx.1"}; !slices.Equal(got, want) {
		t.Errorf("after PURGE=1 uninstall: %v, want %v", got, want)
	}
}

// files lists the regular files under root, relative and sorted.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// TestFleetDropIn: the drop-in the README gives fleet nodes is one systemd
// accepts on top of the unit, opens the way to the database
// (IPAddressAllow, IP address families) and passes the password as a
// credential, while the rest of the hardening stays.
func TestFleetDropIn(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed: run make setup: ", err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, fleet, _ := strings.Cut(string(readme), "### Fleet")
	_, block, ok := strings.Cut(fleet, "```ini\n")
	block, _, _ = strings.Cut(block, "```")
	if !ok || block == "" {
		t.Fatal("the README's fleet section has no ```ini drop-in")
	}
	var dropIn []string
	for _, l := range strings.Split(block, "\n") {
		dropIn = append(dropIn, strings.TrimPrefix(l, "   "))
	}
	text := strings.Join(dropIn, "\n")
	for _, want := range []string{"IPAddressAllow=", "RestrictAddressFamilies=AF_INET AF_INET6", "LoadCredential=store-password:"} {
		if !strings.Contains(text, want) {
			t.Errorf("the fleet drop-in lacks %s:\n%s", want, text)
		}
	}

	dest := t.TempDir()
	install(t, dest, fakeBin(t), "PREFIX=/usr")
	units := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(dest, "usr/lib/systemd/system/kilnd.service"))
	unit := filepath.Join(units, "kilnd.service")
	os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "ExecStart=/usr/bin/kilnd", "ExecStart="+filepath.Join(dest, "usr/bin/kilnd"))), 0o644)
	os.Mkdir(filepath.Join(units, "kilnd.service.d"), 0o755)
	os.WriteFile(filepath.Join(units, "kilnd.service.d", "fleet.conf"), []byte(text), 0o644)

	cmd := exec.Command(analyze, "verify", "--man=no", unit)
	cmd.Dir = units
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "kilnd.service") || strings.Contains(string(out), "fleet.conf") {
		t.Errorf("systemd-analyze verify with the fleet drop-in: %v\n%s", err, out)
	}
	exposure, report := securityExposure(t, analyze, unit)
	t.Logf("fleet node: exposure %.1f", exposure)
	if !strings.Contains(report, "allow list with non-localhost entries") {
		t.Errorf("the drop-in's IPAddressAllow did not reach the unit:\n%s", report)
	}
	if exposure > 2.0 {
		t.Errorf("with the fleet drop-in the unit rates %.1f; only the network should be opened:\n%s", exposure, report)
	}
}
