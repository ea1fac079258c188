package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

var (
	// ErrMissingField is wrapped by every error about a mandatory field that is absent or
	// unusable; an HTTP handler answers 412.
	ErrMissingField = errors.New("missing or invalid mandatory field")
	// ErrTooOld and ErrInFuture refuse inventories outside the accepted time range.
	ErrTooOld   = errors.New("inventory too old")
	ErrInFuture = errors.New("inventory dated in the future")
)

// Age limits of an inventory (DESIGN.md §1).
const (
	MaxAge    = 48 * time.Hour
	MaxFuture = 12 * time.Hour
)

// Validate checks the mandatory fields. Each error wraps ErrMissingField and names the field.
func (inv *Inventory) Validate() error {
	var errs []error
	if strings.TrimSpace(inv.NodeID) == "" {
		errs = append(errs, fmt.Errorf("node_id: empty: %w", ErrMissingField))
	}
	if !ValidHostname(inv.Hostname) {
		errs = append(errs, fmt.Errorf("hostname %q: cannot identify a node: %w", inv.Hostname, ErrMissingField))
	}
	if strings.TrimSpace(inv.OS.Name) == "" {
		errs = append(errs, fmt.Errorf("os.name: empty: %w", ErrMissingField))
	}
	if inv.CollectedAt.IsZero() {
		errs = append(errs, fmt.Errorf("collected_at: zero: %w", ErrMissingField))
	}
	return errors.Join(errs...)
}

// ValidHostname reports whether h can identify a node: not empty, not a localhost name and
// not an IP address.
func ValidHostname(h string) bool {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "" || h == "localhost" || strings.HasPrefix(h, "localhost.") ||
		strings.HasPrefix(h, "localhost4") || strings.HasPrefix(h, "localhost6") {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return false
	}
	return true
}

// CheckTime refuses an inventory collected more than MaxAge before now or more than
// MaxFuture after it.
func CheckTime(collected, now time.Time) error {
	switch {
	case collected.Before(now.Add(-MaxAge)):
		return fmt.Errorf("collected at %s, more than %s before %s: %w",
			collected.UTC().Format(time.RFC3339), MaxAge, now.UTC().Format(time.RFC3339), ErrTooOld)
	case collected.After(now.Add(MaxFuture)):
		return fmt.Errorf("collected at %s, more than %s after %s: %w",
			collected.UTC().Format(time.RFC3339), MaxFuture, now.UTC().Format(time.RFC3339), ErrInFuture)
	}
	return nil
}
