package root

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/bosun-io/bosun/root/api"
)

// Drift events are read back from the drift log itself: it is the record hooks and log
// shippers already trust, so the API shows the same lines rather than a second copy.
const (
	defaultDriftLimit = 50
	maxDriftLimit     = 1000
	// maxDriftScan bounds what one request reads of a log that operators may never rotate.
	maxDriftScan = 8 << 20
)

func (r *Root) driftRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/drift", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		limit := defaultDriftLimit
		if s := req.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxDriftLimit {
				api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("limit=%q: want a number from 1 to %d", s, maxDriftLimit))
				return
			}
			limit = n
		}
		out, err := readDrift(filepath.Join(r.cfg.LogDir, DriftLogName), limit)
		if err != nil {
			r.log.Error("drift log not read", "err", err)
			api.Fail(w, http.StatusInternalServerError, api.CodeInternal, "internal error; see the root's log")
			return
		}
		api.Reply(w, out)
	})
}

// readDrift returns the last limit events of the drift log, newest first. A line that does
// not decode (a partial write, a hand edit) is skipped rather than failing the answer.
func readDrift(path string, limit int) (api.DriftList, error) {
	out := api.DriftList{SchemaVersion: api.SchemaVersion, Events: []api.DriftEvent{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return out, err
	}
	lines, more, err := tailLines(f, fi.Size(), limit, maxDriftScan)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", path, err)
	}
	out.Truncated = more
	for i := len(lines) - 1; i >= 0; i-- {
		var ev api.DriftEvent
		if json.Unmarshal(lines[i], &ev) != nil {
			continue
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}

// tailLines returns up to n complete last lines of the size bytes of f, oldest first,
// reading backwards in chunks and at most limit bytes; more is true when earlier lines exist.
func tailLines(f io.ReaderAt, size int64, n int, limit int64) (lines [][]byte, more bool, err error) {
	const chunk = 64 << 10
	var chunks [][]byte // newest first, joined once: prepending each would copy all read so far
	end, newlines := size, 0
	for end > 0 && size-end < limit {
		start := max(end-chunk, 0, size-limit)
		b := make([]byte, end-start)
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return nil, false, err
		}
		chunks = append(chunks, b)
		end = start
		// n complete lines need n+1 newlines unless the start of the file is reached.
		if newlines += bytes.Count(b, []byte{'\n'}); newlines > n {
			break
		}
	}
	slices.Reverse(chunks)
	buf := bytes.Join(chunks, nil)
	all := bytes.Split(bytes.TrimRight(buf, "\n"), []byte{'\n'})
	if end > 0 && len(all) > 0 {
		all = all[1:] // the first piece may be the tail of a line that began earlier
		more = true
	}
	if len(all) > n {
		all, more = all[len(all)-n:], true
	}
	for _, l := range all {
		if len(l) > 0 {
			lines = append(lines, l)
		}
	}
	return lines, more, nil
}
