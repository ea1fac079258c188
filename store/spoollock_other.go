//go:build !unix

package store

import "os"

// lockFile only opens path where flock does not exist.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
