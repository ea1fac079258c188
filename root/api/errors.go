package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Stable error codes. Clients switch on these, never on messages; append, never rename.
const (
	CodeUnauthorized   = "unauthorized"    // no token, or an unknown one
	CodeForbidden      = "forbidden"       // the token's role may not do this
	CodeNotFound       = "not_found"       // no such object
	CodeBadRequest     = "bad_request"     // the request does not parse or names nothing valid
	CodeConflict       = "conflict"        // the change contradicts the object's state
	CodeInternal       = "internal"        // the root failed; its log says why
	CodeNotImplemented = "not_implemented" // the route exists in a later version
	CodeUnavailable    = "unavailable"     // the root cannot take this now; try again later
)

// Sentinels the root's state returns; handlers map them to codes in one place (status).
var (
	ErrNotFound   = errors.New("not found")
	ErrConflict   = errors.New("conflict")
	ErrBadRequest = errors.New("bad request")
)

// HTTPError is an API error answer as the client sees it.
type HTTPError struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.StatusCode)
}

func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, CodeNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, CodeConflict
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, CodeBadRequest
	default:
		return http.StatusInternalServerError, CodeInternal
	}
}
