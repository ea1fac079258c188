package root

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
)

const bucketTokens = "tokens" // sha256 of the secret → tokenRecord

// tokenPrefix makes a leaked token recognisable to secret scanners and to people.
const tokenPrefix = "bosun_"

// tokenRecord is an API token as stored: the secret itself is never stored, only its hash,
// so a copy of the data directory does not hand out operator access.
type tokenRecord struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

type tokens struct {
	kv  store.KV
	now func() time.Time
}

var _ api.TokenStore = (*tokens)(nil)

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// create makes a token and returns its secret, which exists nowhere else afterwards.
func (t *tokens) create(name string, role api.Role) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	b, err := json.Marshal(tokenRecord{Name: name, Role: role.String(), Created: t.now()})
	if err != nil {
		return "", err
	}
	if err := t.kv.Put(hashToken(secret), b); err != nil {
		return "", fmt.Errorf("store token %s: %w", name, err)
	}
	return secret, nil
}

func (t *tokens) Authenticate(_ context.Context, secret string) (api.Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return api.Principal{}, api.ErrBadToken
	}
	v, err := t.kv.Get(hashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return api.Principal{}, api.ErrBadToken
	}
	if err != nil {
		return api.Principal{}, fmt.Errorf("look up token: %w", err)
	}
	var rec tokenRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return api.Principal{}, fmt.Errorf("decode token: %w", err)
	}
	role, err := api.ParseRole(rec.Role)
	if err != nil {
		return api.Principal{}, fmt.Errorf("token %s: %w", rec.Name, err)
	}
	return api.Principal{Name: rec.Name, Role: role}, nil
}
