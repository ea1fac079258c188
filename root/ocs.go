package root

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The OCS Inventory protocol, as the stock fusioninventory-agent speaks it to a server
// given with --server https://host/ocsinventory (FusionInventory::Agent::HTTP::Client::OCS):
// every message is an XML <REQUEST> POSTed compressed with zlib (Content-Type
// application/x-compress-zlib; gzip or plain XML with -C), and every answer an XML <REPLY>
// compressed the same way. The agent first sends a PROLOG (DEVICEID, QUERY PROLOG); a reply
// whose RESPONSE is SEND asks for the inventory, which comes next as QUERY INVENTORY with
// the inventory in CONTENT. The server answers no_account_update.

// errOCS wraps every error about an OCS request that cannot be read.
var errOCS = errors.New("malformed OCS request")

// Bounds of an OCS request: the compressed body and the XML once decompressed.
const (
	maxOCSBody  = maxImportBytes
	maxOCSDepth = 32
)

// ocsRequest is an OCS message: its query, the agent's device id, and the XML itself for
// an inventory.
type ocsRequest struct {
	Query    string // "PROLOG", "INVENTORY", ...
	DeviceID string
	XML      []byte // decompressed
	// Compression is how the request came, so that the reply goes back the same way:
	// "zlib", "gzip" or "" (plain).
	Compression string
}

// decodeOCSRequest decompresses (sniffing zlib and gzip) and reads the envelope of an OCS
// message, bounded in size and depth.
func decodeOCSRequest(body []byte) (*ocsRequest, error) {
	req := &ocsRequest{}
	var r io.Reader
	switch {
	case len(body) >= 2 && body[0] == 0x78 && (uint16(body[0])<<8|uint16(body[1]))%31 == 0:
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("zlib: %v: %w", err, errOCS)
		}
		defer zr.Close()
		r, req.Compression = zr, "zlib"
	case isGzip(body):
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gzip: %v: %w", err, errOCS)
		}
		defer zr.Close()
		r, req.Compression = zr, "gzip"
	default:
		r = bytes.NewReader(body)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxOCSBody+1))
	if err != nil {
		return nil, fmt.Errorf("decompress: %v: %w", err, errOCS)
	}
	if len(plain) > maxOCSBody {
		return nil, fmt.Errorf("over %d bytes once decompressed: %w", maxOCSBody, errOCS)
	}
	req.XML = plain

	d := xml.NewDecoder(bytes.NewReader(plain))
	d.Strict = true
	d.CharsetReader = func(charset string, in io.Reader) (io.Reader, error) {
		// The envelope is ASCII; the inventory's own charset is the importer's business.
		return in, nil
	}
	var path []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("byte %d: %v: %w", d.InputOffset(), err, errOCS)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.Contains(t, []byte("<!ENTITY")) {
				return nil, fmt.Errorf("DOCTYPE with entity declarations refused: %w", errOCS)
			}
		case xml.StartElement:
			if len(path) == 0 && t.Name.Local != "REQUEST" {
				return nil, fmt.Errorf("root element <%s>, want <REQUEST>: %w", t.Name.Local, errOCS)
			}
			if len(path) >= maxOCSDepth {
				return nil, fmt.Errorf("elements nested deeper than %d: %w", maxOCSDepth, errOCS)
			}
			path = append(path, t.Name.Local)
		case xml.EndElement:
			path = path[:len(path)-1]
			if len(path) == 0 {
				// One root element; what follows it is not read.
				if req.Query == "" {
					return nil, fmt.Errorf("REQUEST/QUERY missing: %w", errOCS)
				}
				return req, nil
			}
		case xml.CharData:
			if len(path) == 2 {
				switch path[1] {
				case "QUERY":
					req.Query += strings.TrimSpace(string(t))
				case "DEVICEID":
					req.DeviceID += strings.TrimSpace(string(t))
				}
			}
		}
	}
	if len(path) > 0 {
		return nil, fmt.Errorf("truncated: <%s> not closed: %w", path[len(path)-1], errOCS)
	}
	return nil, fmt.Errorf("no <REQUEST> element: %w", errOCS)
}

// ocsReply writes an OCS <REPLY> compressed as the request was.
func ocsReply(w http.ResponseWriter, compression string, fields ...[2]string) {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REPLY>\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "  <%s>", f[0])
		_ = xml.EscapeText(&b, []byte(f[1]))
		fmt.Fprintf(&b, "</%s>\n", f[0])
	}
	b.WriteString("</REPLY>\n")
	var out bytes.Buffer
	switch compression {
	case "zlib":
		zw := zlib.NewWriter(&out)
		zw.Write(b.Bytes())
		zw.Close()
		w.Header().Set("Content-Type", "application/x-compress-zlib")
	case "gzip":
		zw := gzip.NewWriter(&out)
		zw.Write(b.Bytes())
		zw.Close()
		w.Header().Set("Content-Type", "application/x-compress-gzip")
	default:
		out = b
		w.Header().Set("Content-Type", "application/xml")
	}
	_, _ = w.Write(out.Bytes())
}

// prologFreq is the PROLOG_FREQ the root answers: the agent's maximum delay between
// contacts, in hours.
const prologFreq = "24"

// serveOCS answers the OCS exchange of fusioninventory-agent --server URL/ocsinventory.
func (r *Root) serveOCS(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxOCSBody+1))
	if err != nil {
		http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxOCSBody {
		http.Error(w, fmt.Sprintf("request over %d bytes", maxOCSBody), http.StatusRequestEntityTooLarge)
		return
	}
	m, err := decodeOCSRequest(body)
	if err != nil {
		r.log.Warn("OCS request refused", "remote", req.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusPreconditionFailed)
		return
	}
	switch m.Query {
	case "PROLOG":
		r.log.Debug("OCS prolog", "remote", req.RemoteAddr, "device", m.DeviceID)
		ocsReply(w, m.Compression, [2]string{"RESPONSE", "SEND"}, [2]string{"PROLOG_FREQ", prologFreq})
	case "INVENTORY":
		_, err := r.ingestImport(m.XML, nil, "ocs "+req.RemoteAddr)
		if err != nil {
			code, _ := importStatus(err)
			if code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", fmt.Sprint(int(queueRetryAfter.Seconds())))
			}
			http.Error(w, err.Error(), code)
			return
		}
		ocsReply(w, m.Compression, [2]string{"RESPONSE", "no_account_update"})
	default:
		r.log.Debug("OCS query not served", "remote", req.RemoteAddr, "query", m.Query)
		http.Error(w, fmt.Sprintf("OCS query %q is not served by a bosun root", m.Query), http.StatusBadRequest)
	}
}
