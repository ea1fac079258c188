package root

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/inventory"
)

func zlibOf(b []byte) []byte {
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

const prolog = `<?xml version="1.0" encoding="UTF-8" ?>
<REQUEST>
  <DEVICEID>host1-2025-01-01-00-00-00</DEVICEID>
  <QUERY>PROLOG</QUERY>
  <TOKEN>12345678</TOKEN>
</REQUEST>
`

// ocsPost sends one OCS message as fusioninventory-agent does and returns the status and
// the decompressed reply.
func (r *testRoot) ocsPost(t *testing.T, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.api.BaseURL+"/ocsinventory", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-compress-zlib")
	resp, err := r.api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("reply not zlib: %v: %q", err, b)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, string(b)
}

func TestOCSExchange(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Second)
	r := startRootWith(t, nil)
	inv := withLogdate(corpus(t, "rudder-tag/minimal-no-rudder.ocs"), at)

	code, reply := r.ocsPost(t, zlibOf([]byte(prolog)))
	if code != 200 || !strings.Contains(reply, "<RESPONSE>SEND</RESPONSE>") || !strings.Contains(reply, "<PROLOG_FREQ>") {
		t.Fatalf("prolog: got %d %q, want SEND", code, reply)
	}
	code, reply = r.ocsPost(t, zlibOf(inv))
	if code != 200 || !strings.Contains(reply, "no_account_update") {
		t.Fatalf("inventory: got %d %q, want no_account_update", code, reply)
	}
	id := inventory.InventoryOnlyNodeID("foo")
	if n, err := r.api.Node(context.Background(), id); err != nil || n.Hostname == "" {
		t.Errorf("node %s after the OCS exchange: %+v %v", id, n, err)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want int
	}{
		{"not compressed and not XML", []byte("garbage"), 412},
		{"truncated zlib", zlibOf([]byte(prolog))[:10], 412},
		{"unknown query", zlibOf([]byte(strings.Replace(prolog, "PROLOG", "SNMPQUERY", 1))), 400},
		{"inventory lacking its hostname", zlibOf(corpus(t, "rudder-tag/invalid-hostname-localhost.ocs")), 412},
	} {
		if code, reply := r.ocsPost(t, tc.body); code != tc.want {
			t.Errorf("%s: got %d %q, want %d", tc.name, code, reply, tc.want)
		}
	}
}

func TestDecodeOCSRequest(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		query     string
		device    string
		wantError string
	}{
		{"zlib prolog", zlibOf([]byte(prolog)), "PROLOG", "host1-2025-01-01-00-00-00", ""},
		{"plain prolog", []byte(prolog), "PROLOG", "host1-2025-01-01-00-00-00", ""},
		{"gzip prolog", gz([]byte(prolog)), "PROLOG", "host1-2025-01-01-00-00-00", ""},
		{"another root", []byte("<REPLY><QUERY>PROLOG</QUERY></REPLY>"), "", "", "want <REQUEST>"},
		{"no query", []byte("<REQUEST><DEVICEID>x</DEVICEID></REQUEST>"), "", "", "QUERY missing"},
		{"truncated", []byte("<REQUEST><QUERY>PROLOG</QUERY>"), "", "", "malformed"},
		{"entities", []byte(`<!DOCTYPE r [<!ENTITY a "aaaa">]><REQUEST><QUERY>&a;</QUERY></REQUEST>`), "", "", "entity"},
		{"deep", []byte("<REQUEST>" + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + "<QUERY>P</QUERY></REQUEST>"), "", "", "deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeOCSRequest(tc.body)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Errorf("got %v, want an error with %q", err, tc.wantError)
				}
				return
			}
			if err != nil || m.Query != tc.query || m.DeviceID != tc.device {
				t.Errorf("got %+v %v, want query %q device %q", m, err, tc.query, tc.device)
			}
		})
	}
}

// FuzzDecodeOCSRequest: whatever arrives, the decoder answers without panicking, within its
// bounds, and what it accepts names a query.
func FuzzDecodeOCSRequest(f *testing.F) {
	f.Add([]byte(prolog))
	f.Add(zlibOf([]byte(prolog)))
	f.Add(gz([]byte(prolog)))
	f.Add([]byte("<REQUEST><QUERY>INVENTORY</QUERY><CONTENT><HARDWARE><NAME>x</NAME></HARDWARE></CONTENT></REQUEST>"))
	f.Add([]byte{0x78, 0x9c, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeOCSRequest(b)
		if err != nil {
			return
		}
		if m.Query == "" {
			t.Fatalf("accepted a request without a query: %q", b)
		}
		if len(m.XML) > maxOCSBody {
			t.Fatalf("decompressed %d bytes, over the bound", len(m.XML))
		}
	})
}
