// Package api is the root's HTTPS JSON API: the types operators and the CLI see, the stable
// error codes, and the handlers with their authentication.
//
// # Basics
//
// Every route lives under /api/v1 and needs a bearer token, except the routes by which a
// node enrols or sends an inventory: POST /api/v1/inventories and the OCS exchange at
// /ocsinventory take inventories from other agents (enrolment travels over QUIC); outside
// /api/v1, the dashboard's static shell under /ui/ carries no data and needs none. Tokens
// have roles: read-only tokens may read, operator tokens may also change nodes, admin tokens
// may also manage tokens. Errors are JSON objects with a stable code the CLI maps to exit
// statuses. [Condition] is the fleet query language of GET /api/v1/inventory/nodes and of
// bosun nodes list --where.
//
// The API reference, openapi.json, is written by hand, embedded, and served at
// GET /api/v1/openapi.json. [Routes] lists what [NewHandler] registers, so that a test of
// the root, which knows every route, can hold the two together.
//
// The handlers reach the root's state through small interfaces declared here ([Registry],
// [TokenStore]); the root package implements them. api imports no role and no store: it
// can be served by any backend that implements those interfaces.
package api
