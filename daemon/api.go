package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"kiln/api"
	"kiln/daemon/store"
)

// apiServer is the local API: HTTP/JSON over a unix socket (DESIGN.md §2).
type apiServer struct {
	d        *Daemon
	listener net.Listener
	server   *http.Server
	path     string
}

// maxBody bounds request bodies; every route's body is a small JSON object.
const maxBody = 64 << 10

func (a *apiServer) listen(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating socket folder: %w", err)
	}
	// A socket left by a crashed daemon blocks bind; a live daemon answers.
	if conn, err := net.Dial("unix", path); err == nil {
		conn.Close()
		return fmt.Errorf("another kilnd is already listening on %s", path)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return fmt.Errorf("socket permissions: %w", err)
	}
	a.listener, a.path = l, path
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", a.health)
	mux.HandleFunc("GET /v1/profiles", a.profiles)
	mux.HandleFunc("GET /v1/watches", a.watches)
	mux.HandleFunc("GET /v1/jobs", a.listJobs)
	mux.HandleFunc("POST /v1/jobs", a.submit)
	mux.HandleFunc("GET /v1/jobs/{id}", a.getJob)
	mux.HandleFunc("PATCH /v1/jobs/{id}", a.patchJob)
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", a.cancelJob)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
	})
	a.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	return nil
}

func (a *apiServer) serve() {
	if err := a.server.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.d.Logger.Error("API server stopped", "err", err)
	}
}

func (a *apiServer) close() {
	if a.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		a.server.Shutdown(ctx)
	}
	if a.path != "" {
		os.Remove(a.path)
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
	if h.ReloadError != "" {
		h.Status = "degraded"
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *apiServer) profiles(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.d.cfg.Load().Profiles)
}

func (a *apiServer) watches(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.d.cfg.Load().Watches)
}

func (a *apiServer) view(j store.Job, withReport bool) api.Job {
	v := api.Job{ID: j.ID, Source: j.SourcePath, Profile: j.Profile, Watch: j.Watch, Priority: j.Priority.String(),
		State: string(j.State), Attempts: j.Attempts, Reason: j.Reason, CreatedAt: j.CreatedAt.UTC(),
		Output:   filepath.Join(j.OutputDir, sourceName(j.SourcePath), j.Profile),
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
	if !filepath.IsAbs(req.Source) {
		apiError(w, http.StatusBadRequest, "bad_source", "source must be an absolute path")
		return
	}
	st, err := os.Stat(req.Source)
	if err != nil || !st.Mode().IsRegular() {
		apiError(w, http.StatusBadRequest, "bad_source", "source is not a readable regular file: "+req.Source)
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
	out := req.Output
	if out == "" {
		out = filepath.Join(cfg.Daemon.StateDir, "out")
	}
	if !filepath.IsAbs(out) {
		apiError(w, http.StatusBadRequest, "bad_output", "output must be an absolute path")
		return
	}
	_, jobs, err := a.d.store.AddSource(r.Context(), store.NewSource{
		Path: filepath.Clean(req.Source), OutputDir: filepath.Clean(out), Size: st.Size(), Mtime: st.ModTime(),
		Jobs: []store.NewJob{{Profile: req.Profile, Priority: pr}},
	})
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
			fileSource(o)
		}
	}
	writeJSON(w, http.StatusOK, a.view(j, false))
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

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", maxBody))
			return false
		}
		apiError(w, http.StatusBadRequest, "bad_json", "request body: "+err.Error())
		return false
	}
	return true
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

func sourceName(path string) string {
	base := filepath.Base(path)
	return base[:len(base)-len(filepath.Ext(base))]
}
