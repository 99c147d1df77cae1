package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/beacon-sd/beacon/catalog"
)

// snapshotMaxRestoreBytes caps a snapshot restore body.
const snapshotMaxRestoreBytes = 1 << 30

// routesSnapshot registers /v1/snapshot.
func (a *API) routesSnapshot() {
	a.handle("GET /v1/snapshot", a.snapshotSave)
	a.handle("PUT /v1/snapshot", a.snapshotRestore)
}

// snapshotSave streams a snapshot of the catalog. Its index is known only
// once it is written, and X-Consul-Index must precede the body, so it is
// spooled to a temporary file first.
func (a *API) snapshotSave(w http.ResponseWriter, r *http.Request) {
	opts, info, ok := a.startRead(w, r)
	if !ok {
		return
	}
	f, err := os.CreateTemp(a.cfg.SpoolDir, "beacon-snapshot-*.snap")
	if err != nil {
		writeError(w, fmt.Errorf("spool snapshot: %w", err))
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	index, err := a.cluster.Snapshot(r.Context(), f)
	if err != nil {
		writeError(w, StatusError(http.StatusInternalServerError, "Snapshot failed: "+err.Error()))
		return
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		writeError(w, fmt.Errorf("spool snapshot: %w", err))
		return
	}
	setReadHeaders(w, index, info, opts.Mode)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		// The status is sent; the client sees a short body.
		a.log.Warn("sending snapshot", "error", err)
	}
}

// snapshotRestore replaces the catalog with the snapshot in the body. A
// damaged snapshot is a 400 and changes nothing.
func (a *API) snapshotRestore(w http.ResponseWriter, r *http.Request) {
	if err := a.checkDC(r.URL.Query()); err != nil {
		writeError(w, err)
		return
	}
	if r.ContentLength > snapshotMaxRestoreBytes {
		writeError(w, StatusError(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Snapshot too large: %d bytes, max %d", r.ContentLength, snapshotMaxRestoreBytes)))
		return
	}
	err := a.cluster.Restore(r.Context(), http.MaxBytesReader(w, r.Body, snapshotMaxRestoreBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, err)
	case errors.Is(err, catalog.ErrCorruptSnapshot):
		writeError(w, badRequest("Snapshot restore failed: %v", err))
	case err != nil:
		writeError(w, StatusError(http.StatusInternalServerError, "Snapshot restore failed: "+err.Error()))
	default:
		w.WriteHeader(http.StatusOK)
	}
}
