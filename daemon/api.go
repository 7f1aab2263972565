package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon/store"
)

// apiServer is the local API: HTTP/JSON over a unix socket, described in
// api/openapi.json (docs/ARCHITECTURE.md, "Processes").
type apiServer struct {
	d      *Daemon
	log    *slog.Logger
	socket *socketListener
	server *http.Server
	// closing is closed when the server shuts down, to end event streams,
	// which would otherwise hold Shutdown until its timeout.
	closing chan struct{}
	// limiter caps open connections (api_connections, per user too).
	limiter *connLimiter
}

// maxBody bounds request bodies; every route's body is a small JSON object.
const maxBody = 64 << 10

// route is one entry of the route table. The table is the single list of
// what the API offers: the mux is built from it, and a test holds it against
// the OpenAPI description (api/openapi.json).
type route struct {
	method  string
	path    string
	handler http.HandlerFunc
}

func (a *apiServer) routes() []route {
	return []route{
		{"GET", "/v1/health", a.health},
		{"GET", "/v1/hardware", a.hardware},
		{"GET", "/v1/profiles", a.profiles},
		{"GET", "/v1/watches", a.watches},
		{"GET", "/v1/jobs", a.listJobs},
		{"POST", "/v1/jobs", a.submit},
		{"GET", "/v1/jobs/{id}", a.getJob},
		{"PATCH", "/v1/jobs/{id}", a.patchJob},
		{"POST", "/v1/jobs/{id}/cancel", a.cancelJob},
		{"GET", "/v1/jobs/{id}/events", a.jobEvents},
		{"GET", "/v1/nodes", a.nodes},
		{"POST", "/v1/reload", a.reload},
		{"GET", "/metrics", a.metrics},
	}
}

// handler builds the mux. A path with the wrong method gets a JSON 405 that
// lists the right ones, and an unknown path a JSON 404: the mux's own answers
// are plain text, and every error here is JSON.
func (a *apiServer) handler() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range a.routes() {
		mux.Handle(rt.method+" "+rt.path, a.wrap(rt))
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, p := range paths {
		methods := strings.Join(allowed[p], ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			apiError(w, http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s %s is not supported; use %s", r.Method, r.URL.Path, methods))
		})
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
	}
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mux redirects unclean paths ("/v1//jobs") with an HTML body;
		// no client of this API sends one on purpose.
		if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
			notFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// wrap turns a handler panic into a JSON 500 and logs every request that
// asks for a change, with who sent it.
func (a *apiServer) wrap(rt route) http.Handler {
	changes := rt.method != http.MethodGet
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == http.ErrAbortHandler {
				panic(p)
			}
			if p != nil {
				a.log.Error("API handler panicked", "route", rt.method+" "+rt.path, "panic", fmt.Sprint(p))
				if rec.status == 0 {
					apiError(rec, http.StatusInternalServerError, "internal", "internal error; see the kilnd log")
				}
			}
			if changes {
				args := append([]any{"method", r.Method, "path", r.URL.Path, "status", rec.status}, peerAttrs(r.Context())...)
				a.log.Info("API request", args...)
			}
		}()
		if changes && !jsonContent(r) {
			apiError(rec, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf(
				"request body sent as %q; the API takes only JSON: send it with Content-Type: application/json", r.Header.Get("Content-Type")))
			return
		}
		rt.handler(rec, r)
	})
}

// jsonContent reports whether a request's body, if it has one, is declared
// as JSON. Anything else is refused before a byte is read: text/plain, form
// and multipart bodies are what a web page can send cross-site without
// asking first, so accepting them would let any page a user opens drive
// the API through a proxy in front of it. A request without a body needs no
// type (cancel, reload).
func jsonContent(r *http.Request) bool {
	if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// statusRecorder remembers the status a handler wrote, for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// write deadlines for event streams).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *apiServer) listen(path, group string) error {
	sock, err := openSocket(path, group, a.log)
	if err != nil {
		return err
	}
	a.socket = sock
	a.closing = make(chan struct{})
	dc := a.d.cfg.Load().Daemon
	a.limiter = newConnLimiter(sock, dc.APIConnections, dc.APIConnectionsPerUser, a.log)
	a.server = &http.Server{
		Handler: a.handler(),
		// Slow or stuck clients must not pile up connections: headers and
		// bodies have a few seconds, answers (but event streams, which set
		// their own deadline per event) half a minute.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       withPeerCred,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.server.RegisterOnShutdown(func() { close(a.closing) })
	return nil
}

func (a *apiServer) serve() {
	if err := a.server.Serve(a.limiter); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("API server stopped", "err", err)
	}
}

func (a *apiServer) close() {
	if a.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := a.server.Shutdown(ctx); err != nil {
			a.server.Close()
		}
	}
	if a.socket != nil {
		a.socket.Close()
		a.socket.remove()
	}
}

func (a *apiServer) health(w http.ResponseWriter, r *http.Request) {
	counts, err := a.d.store.Counts(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	a.d.mu.Lock()
	h := api.Health{Status: "ok", Version: a.d.Version, Uptime: time.Since(a.d.started).Seconds(),
		QueueDepth: counts[store.Queued], Running: counts[store.Running], ReloadError: a.d.reloadErr}
	a.d.mu.Unlock()
	notes, degraded := a.d.notes.list()
	h.Notes = notes
	if h.ReloadError != "" || degraded {
		h.Status = "degraded"
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *apiServer) hardware(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.d.currentHardware())
}

// nodes is GET /v1/nodes: the registry, this node included.
func (a *apiServer) nodes(w http.ResponseWriter, r *http.Request) {
	nodes, err := a.d.store.Nodes(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	now := a.d.store.Now()
	out := make([]api.Node, 0, len(nodes))
	for _, n := range nodes {
		v := api.Node{Name: n.Name, Host: n.Host, Instance: n.Instance, Self: n.Name == a.d.store.Node, Up: n.Up(now), Version: n.Version,
			Slots: n.Slots, GPUSlots: n.GPUSlots, Running: n.Running, RunningGPU: n.RunningGPU,
			StartedAt: n.StartedAt.UTC(), HeartbeatAt: n.HeartbeatAt.UTC(), LeaseUntil: n.LeaseUntil.UTC()}
		var hw api.Hardware
		if json.Unmarshal(n.Hardware, &hw) == nil && hw.Backend != "" {
			v.Hardware = &hw
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *apiServer) profiles(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.d.cfg.Load().Profiles)
}

func (a *apiServer) watches(w http.ResponseWriter, r *http.Request) {
	watches := a.d.cfg.Load().Watches
	if watches == nil {
		// A config without watches answers [], as api/openapi.json says:
		// an array, never null.
		watches = []config.Watch{}
	}
	writeJSON(w, http.StatusOK, watches)
}

func (a *apiServer) view(j store.Job, withReport bool) api.Job {
	v := api.Job{ID: j.ID, Source: j.SourcePath, Profile: j.Profile, Watch: j.Watch, Priority: j.Priority.String(),
		State: string(j.State), Attempts: j.Attempts, Node: j.Node, Reason: j.Reason, CreatedAt: j.CreatedAt.UTC(),
		Output:   filepath.Join(j.OutputDir, outputFolder(j), j.Profile),
		Progress: api.Progress{Fraction: j.Progress, FPS: j.FPS}}
	if !j.StartedAt.IsZero() {
		t := j.StartedAt.UTC()
		v.StartedAt = &t
	}
	if !j.FinishedAt.IsZero() {
		t := j.FinishedAt.UTC()
		v.FinishedAt = &t
	}
	if j.State == store.Done {
		v.Progress.Fraction = 1
	}
	a.d.mu.Lock()
	wp := a.d.running[j.ID]
	a.d.mu.Unlock()
	if wp != nil {
		p := wp.snapshot()
		v.Progress = api.Progress{Fraction: p.Fraction, FPS: p.FPS, Frames: p.Frames, Stage: p.Stage}
		if elapsed := time.Since(j.StartedAt).Seconds(); p.Fraction > 0.01 {
			v.Progress.ETA = elapsed * (1 - p.Fraction) / p.Fraction
		}
	}
	if withReport {
		v.Report = j.Report
	}
	return v
}

func (a *apiServer) listJobs(w http.ResponseWriter, r *http.Request) {
	f := store.Filter{State: store.State(r.URL.Query().Get("state")), Limit: 1000}
	if f.State != "" && !f.State.Valid() {
		apiError(w, http.StatusBadRequest, "bad_state", fmt.Sprintf("unknown state %q (queued, running, done, failed, cancelled)", f.State))
		return
	}
	jobs, err := a.d.store.List(r.Context(), f)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	views := make([]api.Job, 0, len(jobs))
	for _, j := range jobs {
		views = append(views, a.view(j, false))
	}
	writeJSON(w, http.StatusOK, views)
}

func (a *apiServer) getJob(w http.ResponseWriter, r *http.Request) {
	j, ok := a.lookup(w, r)
	if ok {
		writeJSON(w, http.StatusOK, a.view(j, true))
	}
}

func (a *apiServer) submit(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	if !decodeBody(w, r, &req) {
		return
	}
	cfg := a.d.cfg.Load()
	source, err := submitSource(cfg, req.Source)
	if err != nil {
		pe := err.(*pathError)
		apiError(w, pe.status, pe.code, pe.msg)
		return
	}
	st, err := os.Stat(source)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_source", "source is not a readable regular file: "+req.Source)
		return
	}
	peer, known := r.Context().Value(peerCredKey{}).(peerCred)
	if !known {
		apiError(w, http.StatusForbidden, "source_not_readable",
			"the caller's credentials could not be read from the socket, so Kiln cannot check that it may read "+req.Source)
		return
	}
	if err := peerCanRead(peer, req.Source, source); err != nil {
		apiError(w, http.StatusForbidden, "source_not_readable", fmt.Sprintf(
			"you (uid %d, %s) may not read %s yourself, so Kiln will not read it for you: %v",
			peer.uid, userName(peer.uid), req.Source, err))
		return
	}
	p, ok := cfg.Profile(req.Profile)
	if !ok {
		apiError(w, http.StatusBadRequest, "bad_profile", fmt.Sprintf("profile %q is not defined; defined profiles: %v", req.Profile, cfg.ProfileNames()))
		return
	}
	prio := p.Priority
	if req.Priority != "" {
		prio = req.Priority
	}
	pr, err := store.ParsePriority(prio)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_priority", err.Error())
		return
	}
	out := filepath.Join(cfg.Daemon.StateDir, "out")
	if req.Output != "" {
		if out, err = submitOutput(cfg, req.Output); err != nil {
			pe := err.(*pathError)
			apiError(w, pe.status, pe.code, pe.msg)
			return
		}
	}
	// A name of its own under the output folder, as a watch's file gets:
	// a submission into a watch's output must not replace its deliveries.
	_, jobs, _, err := a.d.addSource(r.Context(), store.NewSource{
		Path: source, OutputDir: out, Size: st.Size(), Mtime: st.ModTime(),
		Jobs: []store.NewJob{{Profile: req.Profile, Priority: pr}},
	}, "version")
	if errors.Is(err, store.ErrSourceActive) {
		apiError(w, http.StatusConflict, "source_active", "this file already has unfinished jobs")
		return
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	a.d.Logger.Info("job submitted over the API", "job", jobs[0].ID, "source", req.Source, "profile", req.Profile)
	a.d.poke()
	writeJSON(w, http.StatusCreated, api.Created{ID: jobs[0].ID})
}

func (a *apiServer) patchJob(w http.ResponseWriter, r *http.Request) {
	j, ok := a.lookup(w, r)
	if !ok {
		return
	}
	var req api.PatchJob
	if !decodeBody(w, r, &req) {
		return
	}
	pr, err := store.ParsePriority(req.Priority)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_priority", err.Error())
		return
	}
	if err := a.d.store.SetPriority(r.Context(), j.ID, pr); err != nil {
		if errors.Is(err, store.ErrNotQueued) {
			apiError(w, http.StatusConflict, "not_queued", "only a queued job's priority can change; this one is "+string(j.State))
			return
		}
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	a.d.changes.notify()
	j, _ = a.d.store.Get(r.Context(), j.ID)
	writeJSON(w, http.StatusOK, a.view(j, false))
}

func (a *apiServer) cancelJob(w http.ResponseWriter, r *http.Request) {
	j, ok := a.lookup(w, r)
	if !ok {
		return
	}
	if j.State == store.Running {
		a.d.mu.Lock()
		wp := a.d.running[j.ID]
		a.d.mu.Unlock()
		if wp != nil {
			wp.stop(errCancelled)
			<-wp.done
			j, _ = a.d.store.Get(r.Context(), j.ID)
			writeJSON(w, http.StatusOK, a.view(j, false))
			return
		}
		if j.Node != "" && j.Node != a.d.store.Node {
			// Only the node running the worker can stop it.
			apiError(w, http.StatusConflict, "running_elsewhere",
				fmt.Sprintf("job %d runs on node %s; cancel it through that node's socket", j.ID, j.Node))
			return
		}
	}
	j, err := a.d.store.Cancel(r.Context(), j.ID)
	if errors.Is(err, store.ErrFinished) {
		apiError(w, http.StatusConflict, "finished", "the job has already finished")
		return
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	if j.State == store.Cancelled {
		if o, err := a.d.store.Outcome(r.Context(), j.SourceID); err == nil && o.Finished && o.Source.Watch != "" {
			if err := fileSource(o); err != nil {
				a.log.Error("moving source out of the inbox", "source", o.Source.Path, "err", err)
			}
		}
	}
	a.d.poke()
	writeJSON(w, http.StatusOK, a.view(j, false))
}

// reload is POST /v1/reload: the same reload as SIGHUP, run by the main loop,
// answered once it is done.
func (a *apiServer) reload(w http.ResponseWriter, r *http.Request) {
	reply := make(chan error, 1)
	select {
	case a.d.reloads <- reply:
	case <-a.d.stopped:
		apiError(w, http.StatusServiceUnavailable, "stopping", errStopping.Error())
		return
	case <-r.Context().Done():
		return
	}
	var err error
	select {
	case err = <-reply:
	case <-r.Context().Done():
		return
	}
	switch {
	case errors.Is(err, errStopping):
		apiError(w, http.StatusServiceUnavailable, "stopping", err.Error())
	case err != nil:
		apiError(w, http.StatusUnprocessableEntity, "config_invalid",
			"reload rejected; the running config stays in force: "+err.Error())
	default:
		cfg := a.d.cfg.Load()
		writeJSON(w, http.StatusOK, api.Reloaded{Config: cfg.Origin, Watches: len(cfg.Watches), Profiles: len(cfg.Profiles)})
	}
}

// metrics is GET /metrics, in the Prometheus text format (or another
// exposition format the scraper asks for in Accept).
func (a *apiServer) metrics(w http.ResponseWriter, r *http.Request) {
	counts, err := a.d.store.Counts(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	cfg := a.d.cfg.Load()
	watches := make([]string, 0, len(cfg.Watches))
	for _, wt := range cfg.Watches {
		watches = append(watches, wt.Name)
	}
	nodes, err := a.d.store.Nodes(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	up, down := 0, 0
	now := a.d.store.Now()
	for _, n := range nodes {
		if n.Up(now) {
			up++
		} else {
			down++
		}
	}
	a.d.metrics.handler(scrape{
		jobs:          counts,
		runningFPS:    a.d.runningFPS(),
		nvencSessions: a.d.nvencSessions(),
		watches:       watches,
		nodesUp:       up,
		nodesDown:     down,
	}).ServeHTTP(w, r)
}

func (a *apiServer) lookup(w http.ResponseWriter, r *http.Request) (store.Job, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		apiError(w, http.StatusBadRequest, "bad_id", "job id must be a positive integer")
		return store.Job{}, false
	}
	j, err := a.d.store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no job %d", id))
		return store.Job{}, false
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "store", err.Error())
		return store.Job{}, false
	}
	return j, true
}

// decodeBody reads one JSON object, at most maxBody bytes, with no unknown
// fields and nothing after it, and answers 400 or 413 itself when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// One object is the whole body: `{}{}` or `{} x` is a client bug
		// that would otherwise pass unnoticed.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("unexpected data after the JSON object")
			if errors.As(terr, new(*http.MaxBytesError)) {
				err = terr
			}
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		apiError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", maxBody))
	case errors.Is(err, io.EOF):
		apiError(w, http.StatusBadRequest, "bad_json", "request body is empty; send a JSON object")
	default:
		apiError(w, http.StatusBadRequest, "bad_json", "request body: "+err.Error())
	}
	return false
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Error: api.ErrorBody{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
