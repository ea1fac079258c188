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
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/bosun-io/bosun/store"
)

// bucketTokens holds the API tokens: sha256 of the secret → tokenRecord. Authentication is
// one read of it by hash. There is no index by name: tokens are few, and listing, making and
// revoking them (rare, by an admin) scan the bucket.
const bucketTokens = "tokens"

// tokenPrefix makes a leaked token recognisable to secret scanners and to people.
const tokenPrefix = "bosun_"

// eventKindToken is the kind of the event log's changes to tokens.
const eventKindToken = "token"

// validTokenName: names appear in logs and as the "by" of the event log, so they are plain.
var validTokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// tokenRecord is an API token as stored: the secret itself is never stored, only its hash,
// so a copy of the data directory does not hand out operator access.
type tokenRecord struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"createdBy,omitempty"`
	Expires   time.Time `json:"expires,omitzero"`
	LastUsed  time.Time `json:"lastUsed,omitzero"`
}

func (rec tokenRecord) token() api.Token {
	return api.Token{Name: rec.Name, Role: rec.Role, Created: rec.Created, CreatedBy: rec.CreatedBy, Expires: rec.Expires, LastUsed: rec.LastUsed}
}

// expired says whether the root no longer takes the token at now.
func (rec tokenRecord) expired(now time.Time) bool {
	return !rec.Expires.IsZero() && !now.Before(rec.Expires)
}

type tokens struct {
	db  *store.DB
	kv  store.KV // db's bucketTokens
	now func() time.Time
	log *slog.Logger
	// mu serialises create and revoke, so that two admins cannot both take a name, nor
	// revoke the last two admin tokens at once. Another process cannot change tokens
	// meanwhile: it would need the store, which this one holds locked.
	mu sync.Mutex
}

var _ api.TokenStore = (*tokens)(nil)

func newTokens(db *store.DB, now func() time.Time, log *slog.Logger) *tokens {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &tokens{db: db, kv: db.Bucket(bucketTokens), now: now, log: log}
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// all returns every token record by hash.
func (t *tokens) all() (map[string]tokenRecord, error) {
	out := map[string]tokenRecord{}
	err := t.kv.Scan("", func(hash string, v []byte) error {
		var rec tokenRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode token %s…: %w", hash[:min(8, len(hash))], err)
		}
		out[hash] = rec
		return nil
	})
	return out, err
}

// list returns the tokens, sorted by name.
func (t *tokens) list() ([]api.Token, error) {
	recs, err := t.all()
	if err != nil {
		return nil, err
	}
	out := make([]api.Token, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.token())
	}
	slices.SortFunc(out, func(a, b api.Token) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// create makes a token and records it in the event log as done by by. It returns the
// secret, which exists nowhere else afterwards.
func (t *tokens) create(by string, req api.TokenRequest) (api.Token, string, error) {
	if !validTokenName.MatchString(req.Name) {
		return api.Token{}, "", fmt.Errorf("%w: token name %q: want 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", api.ErrBadRequest, req.Name)
	}
	role, err := api.ParseRole(req.Role)
	if err != nil {
		return api.Token{}, "", fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	now := t.now().UTC()
	if !req.Expires.IsZero() && !req.Expires.After(now) {
		return api.Token{}, "", fmt.Errorf("%w: token %s: expiry %s is not in the future", api.ErrBadRequest, req.Name, req.Expires.UTC().Format(time.RFC3339))
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return api.Token{}, "", err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	rec := tokenRecord{Name: req.Name, Role: role.String(), Created: now, CreatedBy: by}
	if !req.Expires.IsZero() {
		rec.Expires = req.Expires.UTC()
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return api.Token{}, "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	recs, err := t.all()
	if err != nil {
		return api.Token{}, "", err
	}
	for _, other := range recs {
		if other.Name == req.Name {
			return api.Token{}, "", fmt.Errorf("%w: a token is called %s already: choose another name, or revoke that one first (bosun tokens revoke %s)", api.ErrConflict, req.Name, req.Name)
		}
	}
	after, _ := json.Marshal(rec.token())
	err = t.db.Update(func(tx *store.Txn) error {
		if err := tx.Put(bucketTokens, hashToken(secret), b); err != nil {
			return err
		}
		return recordEvent(tx, &api.Event{Time: now, By: by, What: fmt.Sprintf("create %s token %s", rec.Role, rec.Name),
			Changes: []api.EventChange{{Kind: eventKindToken, ID: rec.Name, Op: policy.OpCreate, After: after}}})
	})
	if err != nil {
		return api.Token{}, "", fmt.Errorf("store token %s: %w", req.Name, err)
	}
	return rec.token(), secret, nil
}

// revoke deletes the token called name, unless it is the last admin token that works:
// without one, nobody could make tokens through the API any more.
func (t *tokens) revoke(by, name string) (api.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	recs, err := t.all()
	if err != nil {
		return api.Token{}, err
	}
	now := t.now()
	var hash string
	admins := 0
	for h, rec := range recs {
		if rec.Name == name {
			hash = h
		} else if rec.Role == api.RoleAdmin.String() && !rec.expired(now) {
			admins++
		}
	}
	if hash == "" {
		return api.Token{}, fmt.Errorf("token %s: %w (bosun tokens list shows them)", name, api.ErrNotFound)
	}
	rec := recs[hash]
	if rec.Role == api.RoleAdmin.String() && admins == 0 {
		return api.Token{}, fmt.Errorf("%w: token %s is the last admin token that works; create another first (bosun tokens create --role admin), or nobody could manage tokens through the API", api.ErrConflict, name)
	}
	before, _ := json.Marshal(rec.token())
	err = t.db.Update(func(tx *store.Txn) error {
		if err := tx.Delete(bucketTokens, hash); err != nil {
			return err
		}
		return recordEvent(tx, &api.Event{Time: now.UTC(), By: by, What: fmt.Sprintf("revoke %s token %s", rec.Role, rec.Name),
			Changes: []api.EventChange{{Kind: eventKindToken, ID: rec.Name, Op: policy.OpDelete, Before: before}}})
	})
	if err != nil {
		return api.Token{}, fmt.Errorf("revoke token %s: %w", name, err)
	}
	return rec.token(), nil
}

func (t *tokens) Authenticate(_ context.Context, secret string) (api.Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return api.Principal{}, api.ErrBadToken
	}
	hash := hashToken(secret)
	v, err := t.kv.Get(hash)
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
	now := t.now()
	if rec.expired(now) {
		return api.Principal{}, fmt.Errorf("%w: token %s expired at %s; ask an admin for a new one (bosun tokens create)", api.ErrBadToken, rec.Name, rec.Expires.UTC().Format(time.RFC3339))
	}
	role, err := api.ParseRole(rec.Role)
	if err != nil {
		return api.Principal{}, fmt.Errorf("token %s: %w", rec.Name, err)
	}
	if now.Sub(rec.LastUsed) >= api.TokenLastUsedStep {
		t.touch(hash, now)
	}
	return api.Principal{Name: rec.Name, Role: role}, nil
}

// touch writes down when a token was last used. It is a bookkeeping write, at most once per
// api.TokenLastUsedStep and token: a failure is logged, never refuses the request, and a
// token revoked meanwhile stays revoked (the transaction sees it gone).
func (t *tokens) touch(hash string, now time.Time) {
	err := t.db.Update(func(tx *store.Txn) error {
		v, err := tx.Get(bucketTokens, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var rec tokenRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if now.Sub(rec.LastUsed) < api.TokenLastUsedStep {
			return nil // another request did it
		}
		rec.LastUsed = now.UTC()
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return tx.Put(bucketTokens, hash, b)
	})
	if err != nil && !errors.Is(err, store.ErrClosed) {
		t.log.Warn("token last use not recorded", "err", err)
	}
}

// tokenRoutes lets admins list, make and revoke API tokens.
func (r *Root) tokenRoutes(route api.RouteFunc, _ api.PublicFunc) {
	fail := func(w http.ResponseWriter, err error) {
		code, name := api.StatusOf(err)
		if code == http.StatusInternalServerError {
			r.log.Error("token change failed", "err", err)
			api.Fail(w, code, name, "internal error; see the root's log")
			return
		}
		api.Fail(w, code, name, err.Error())
	}
	route("GET /api/v1/tokens", api.RoleAdmin, func(w http.ResponseWriter, _ *http.Request, _ api.Principal) {
		l, err := r.tokens.list()
		if err != nil {
			fail(w, err)
			return
		}
		api.Reply(w, api.TokenList{SchemaVersion: api.SchemaVersion, Tokens: l})
	})
	route("POST /api/v1/tokens", api.RoleAdmin, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		var in api.TokenRequest
		dec := json.NewDecoder(io.LimitReader(req.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			fail(w, fmt.Errorf("%w: token request: %v", api.ErrBadRequest, err))
			return
		}
		tok, secret, err := r.tokens.create(p.Name, in)
		if err != nil {
			fail(w, err)
			return
		}
		r.log.Info("api token created", "token", tok.Name, "role", tok.Role, "principal", p.Name)
		w.Header().Set("Content-Type", "application/json") // Reply's would come after the status
		w.WriteHeader(http.StatusCreated)
		api.Reply(w, api.TokenCreated{SchemaVersion: api.SchemaVersion, Token: tok, Secret: secret})
	})
	route("DELETE /api/v1/tokens/{name}", api.RoleAdmin, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		tok, err := r.tokens.revoke(p.Name, req.PathValue("name"))
		if err != nil {
			fail(w, err)
			return
		}
		r.log.Info("api token revoked", "token", tok.Name, "role", tok.Role, "principal", p.Name)
		api.Reply(w, api.TokenRevoked{SchemaVersion: api.SchemaVersion, Token: tok})
	})
}

// CreateToken makes an API token in the data directory of a stopped root, for when the API
// cannot be used (the admin token lost). The event log records it as made offline by the
// user who ran it.
func CreateToken(dir string, req api.TokenRequest) (api.TokenCreated, error) {
	if _, err := os.Stat(filepath.Join(dir, apiCertFile)); err != nil {
		return api.TokenCreated{}, fmt.Errorf("%w: %s; run: bosun root init --data %s", ErrNotInitialised, dir, dir)
	}
	db, err := store.Open(filepath.Join(dir, dbDir), store.Options{Profile: store.ProfileRoot})
	var dirErr *store.DirError
	if errors.As(err, &dirErr) || errors.Is(err, store.ErrSchemaVersion) {
		return api.TokenCreated{}, err // says what to do itself
	}
	if err != nil {
		return api.TokenCreated{}, fmt.Errorf("open the root's store (stop the root first: it holds its store locked while it runs; or, with an admin token, use bosun tokens create): %w", err)
	}
	defer db.Close()
	by := "offline"
	if u, err := user.Current(); err == nil && u.Username != "" {
		by += ":" + u.Username
	}
	tok, secret, err := newTokens(db, time.Now, nil).create(by, req)
	if err != nil {
		return api.TokenCreated{}, err
	}
	return api.TokenCreated{SchemaVersion: api.SchemaVersion, Token: tok, Secret: secret}, nil
}
