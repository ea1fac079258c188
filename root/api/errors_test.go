package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		name string
	}{
		{fmt.Errorf("node x: %w", ErrNotFound), http.StatusNotFound, CodeNotFound},
		{fmt.Errorf("token y: %w", ErrConflict), http.StatusConflict, CodeConflict},
		{fmt.Errorf("%w: token name %q", ErrBadRequest, "?"), http.StatusBadRequest, CodeBadRequest},
		{errors.New("disk full"), http.StatusInternalServerError, CodeInternal},
	} {
		if code, name := StatusOf(tc.err); code != tc.code || name != tc.name {
			t.Errorf("StatusOf(%v): got %d %s, want %d %s", tc.err, code, name, tc.code, tc.name)
		}
	}
}
