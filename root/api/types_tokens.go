package api

import "time"

// Token is an API token as the root lists it: never its secret, nor the hash of it.
type Token struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"createdBy,omitempty"`
	// Expires is when the root stops taking the token; zero: never.
	Expires time.Time `json:"expires,omitzero"`
	// LastUsed is when the token was last taken, to within TokenLastUsedStep; zero: never
	// (or not since it was made by a root that did not keep it).
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// TokenLastUsedStep is how stale Token.LastUsed may be: the root writes it down at most
// once per step and token, so that authenticating stays one read.
const TokenLastUsedStep = 10 * time.Minute

// TokenList is the answer of GET /api/v1/tokens, sorted by name.
type TokenList struct {
	SchemaVersion int     `json:"schemaVersion"`
	Tokens        []Token `json:"tokens"`
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires,omitzero"`
}

// TokenCreated is the answer of POST /api/v1/tokens. Secret is shown this once: the root
// keeps only its hash.
type TokenCreated struct {
	SchemaVersion int    `json:"schemaVersion"`
	Token         Token  `json:"token"`
	Secret        string `json:"secret"`
}

// TokenRevoked is the answer of DELETE /api/v1/tokens/{name}: the token as it was.
type TokenRevoked struct {
	SchemaVersion int   `json:"schemaVersion"`
	Token         Token `json:"token"`
}
