package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// A shared file is a file the root serves to the nodes whose policy uses it
// (file_from_shared_folder). The node asks for a path, naming the hash of the copy it
// holds; the root answers with the file signed by its key, so relays that cache and serve
// it cannot alter it.

// MaxSharedFile bounds one shared file.
const MaxSharedFile = 16 << 20

// FileRequest asks for a shared file; signed by the node, like a status request.
type FileRequest struct {
	Signed Signed
}

// FileQuery is the signed content of a FileRequest.
type FileQuery struct {
	NodeID   string
	Path     string // relative to the root's shared files directory
	HaveHash string // hex SHA-256 of the copy the node holds, "" for none
	Time     time.Time
}

const fileRequestDomain = "file-request"

func init() {
	register(TypeFileRequest, func() Message { return new(FileRequest) })
	register(TypeFileReply, func() Message { return new(FileReply) })
}

func (*FileRequest) Type() Type { return TypeFileRequest }

func (r *FileRequest) AppendBinary(b []byte) ([]byte, error) { return r.Signed.append(b), nil }

func (r *FileRequest) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	r.Signed.decode(&d, 8192)
	return d.err
}

// NewFileRequest signs a query for the node.
func NewFileRequest(q FileQuery, key ed25519.PrivateKey) *FileRequest {
	b := appendString(nil, q.NodeID)
	b = appendString(b, q.Path)
	b = appendString(b, q.HaveHash)
	b = appendTime(b, q.Time)
	return &FileRequest{Signed: Sign(fileRequestDomain, b, key)}
}

// Peek decodes the query without checking the signature.
func (r *FileRequest) Peek() (FileQuery, error) {
	d := decoder{b: r.Signed.Body}
	q := FileQuery{NodeID: d.string("node id", maxIDLen), Path: d.string("path", maxNameLen), HaveHash: d.string("hash", 128), Time: d.time("time")}
	if d.err == nil && (q.NodeID == "" || q.Path == "") {
		d.fail("file request without node or path")
	}
	return q, d.err
}

// Verify checks the signature against the node's pinned key.
func (r *FileRequest) Verify(pub ed25519.PublicKey) error {
	return r.Signed.Verify(fileRequestDomain, pub)
}

// SharedFile is a shared file as the root signs it.
type SharedFile struct {
	Path    string
	Hash    string // hex SHA-256 of Content
	Content []byte
}

const sharedFileDomain = "shared-file"

// FileReply answers a FileRequest: the file signed by the root, or that the node's copy is
// current, or that there is no such file.
type FileReply struct {
	Unchanged bool
	NotFound  bool
	File      Signed // body: path, hash, content
}

func (*FileReply) Type() Type { return TypeFileReply }

func (r *FileReply) AppendBinary(b []byte) ([]byte, error) {
	b = appendBool(b, r.Unchanged)
	b = appendBool(b, r.NotFound)
	return r.File.append(b), nil
}

func (r *FileReply) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*r = FileReply{Unchanged: d.bool("unchanged"), NotFound: d.bool("not found")}
	r.File.decode(&d, MaxSharedFile+4096)
	return d.err
}

// SignSharedFile signs a shared file with the root's key.
func SignSharedFile(f SharedFile, key ed25519.PrivateKey) Signed {
	b := appendString(nil, f.Path)
	b = appendString(b, f.Hash)
	b = appendBytes(b, f.Content)
	return Sign(sharedFileDomain, b, key)
}

// OpenSharedFile checks the root's signature on a shared file and decodes it.
func OpenSharedFile(s Signed, rootKey ed25519.PublicKey) (SharedFile, error) {
	if err := s.Verify(sharedFileDomain, rootKey); err != nil {
		return SharedFile{}, fmt.Errorf("shared file: %w", err)
	}
	d := decoder{b: s.Body}
	f := SharedFile{Path: d.string("path", maxNameLen), Hash: d.string("hash", 128), Content: cloneBytes(d.bytes("content", MaxSharedFile))}
	if d.err != nil {
		return SharedFile{}, fmt.Errorf("shared file: %w", d.err)
	}
	return f, nil
}

// PeekSharedFileHash returns the hash a signed shared file names, without checking the
// signature: for caches, which serve it to nodes that do check.
func PeekSharedFileHash(s Signed) (string, error) {
	d := decoder{b: s.Body}
	_ = d.string("path", maxNameLen)
	h := d.string("hash", 128)
	return h, d.err
}
